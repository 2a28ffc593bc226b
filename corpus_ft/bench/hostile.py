"""`corpus-ft bench hostile`: build a repository an attacker or a careless user would hand over,
run ingest, build, review and the terminal sample on it as a user would (fresh processes), and
check what must hold (issue 14):

- every command exits 0;
- every file of the repository became units or is in the ingest report with its reason;
- nothing outside the repository was read (a marker planted outside never shows up);
- no planted secret is anywhere in the run directory except units.parquet and ingest's file index
  under .cache/ (the raw input, which keeps paths as they are on disk);
- no terminal escape or NUL reaches a dataset or the terminal;
- output and peak memory grow linearly: from the smallest to the largest scale, each grows at
  most `max_ratio` times as fast as the bytes ingest read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus_ft.redact import AWS_SECRET_EXAMPLE, TOKEN_FORMATS

OUTSIDE_MARKER = "OUTSIDE-THE-ROOT-d41d8cd98f"
PATH_SECRET = "ghp_Pz9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0GfEdCb"
PROSE_SECRET = "Xy7#k2p9Qw"
AWS_SECRET = AWS_SECRET_EXAMPLE.split()[-1]
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def _secret_of(example: str) -> str:
    """The secret part of a TOKEN_FORMATS example (some carry their context: `AccountKey=...`)."""
    for sep in ("AccountKey=", "Bearer ", "Basic ", "://"):
        if sep in example:
            example = example.split(sep, 1)[1]
    return example.split("@")[0].rstrip(";").split(";")[0]


def planted_secrets() -> list[str]:
    """Every secret the hostile repository holds; none may leave units.parquet."""
    out = [_secret_of(ex) for name, _, ex in TOKEN_FORMATS if name not in ("email",)]
    return out + ["dana.ortiz@northwind-corp.com", PATH_SECRET, PROSE_SECRET, AWS_SECRET] + list(LEAK_SECRETS)


# Issue 24's leak rows (S1, S2, S4-S8, S10, S12): one secret per form a redactor once missed, each
# in the file that carries it. None may reach any output.
LEAK_SECRETS = {
    "Hunter#2Xy9Qz": "a password in a docstring (becomes a summary)",
    "MIIEpAIBAAKCAQEA7Zq3Lk9Vw2Rt5Yp8Nx1Bm4Dc7Fh0Js3": "a private key line inside a long section",
    "Tbl-Pw-4471x": "a Markdown table's Password column",
    "c3ZjOlN1cDNyUzNjcmV0LTIwMjY=": "Authorization: Basic",
    "Blk-Scalar-Pw-77": "a YAML block scalar",
    "Bytes-Pw-8812": "a Python bytes literal",
    "Sig-Default-8815": "a signature default",
    "NextLine-Pw-8816": "a value on the next line",
    "Tail-8817": "a value split by concatenation",
    "Tuple-Pw-8819": "auth=(user, password)",
    "DbPass-8821": "a DB_PASS key",
    "Tmpl-Pw-8823": "a JS template literal",
    "Go-Raw-Pw-8825": "a Go raw string",
    "Go-Pw-8826": "dbPass :=",
    "Hunter2Xy9Qz": "a credential in a file name",
    "4111 1111 1111 1111": "a card number",
    "DE89 3704 0044 0532 0130 00": "an IBAN",
    "+44 20 7946 0958": "a phone number",
    "ghp_Ig9Nr8Mq7Lp6Ko5Jn4Im3Hl2Gk1Fj0EiDhCg": "a token in a bad ignore line",
}


def _put_leak_cases(put) -> None:
    """The files that carry LEAK_SECRETS."""
    put(
        "leaks/auth.py",
        'def admin_login(client, user):\n    """Log in with the shared admin password Hunter#2Xy9Qz when the '
        'directory is down."""\n    return client.login(user)\n\n\n'
        'def connect(host, password=b"Sig-Default-8815"):\n    """Open a connection to the ledger database."""\n'
        '    token = (\n        "NextLine-Pw-8816"\n    )\n    secret = "Concat-" + "Tail-8817"\n'
        '    db_pass = b"Bytes-Pw-8812"\n    return requests.get(host, auth=("admin", "Tuple-Pw-8819"))\n',
        "credential forms in Python",
    )
    put("leaks/app.js", "function start() {\n  const password = `Tmpl-Pw-8823`;\n  return password;\n}\n", "JS")
    put(
        "leaks/main.go",
        'package main\n\nfunc main() {\n\tpassword := `Go-Raw-Pw-8825`\n\tdbPass := "Go-Pw-8826"\n'
        "\tuse(password, dbPass)\n}\n",
        "Go raw string and dbPass",
    )
    prose = "".join(
        f"Step {i} of the rotation keeps journal {i} and archives its segments after close {i}.\n\n" for i in range(40)
    )
    put(
        "leaks/ops.md",
        "# Ops\n\n## Accounts\n\n| user | password |\n| --- | --- |\n| admin | Tbl-Pw-4471x |\n\n"
        "Call `curl -H 'Authorization: Basic c3ZjOlN1cDNyUzNjcmV0LTIwMjY='` for the status.\n\n"
        "```yaml\ndb:\n  password: |\n    Blk-Scalar-Pw-77\n```\n\n```sh\nexport DB_PASS=DbPass-8821\n```\n\n"
        "Refunds go to card 4111 1111 1111 1111 or IBAN DE89 3704 0044 0532 0130 00; the desk is "
        "+44 20 7946 0958.\n\n## Keys\n\n"
        + prose
        + "-----BEGIN RSA PRIVATE KEY-----\n"
        + "MIIEpAIBAAKCAQEA7Zq3Lk9Vw2Rt5Yp8Nx1Bm4Dc7Fh0Js3\n" * 6
        + "-----END RSA PRIVATE KEY-----\n\n"
        + prose,
        "tables, headers, YAML, personal numbers, a key in a long section",
    )
    put("leaks/password=Hunter2Xy9Qz.md", _page(1007), "a credential in a file name")
    put("leaks/.gitignore", "*.tmp\n[z-a]ghp_Ig9Nr8Mq7Lp6Ko5Jn4Im3Hl2Gk1Fj0EiDhCg\n", "a token in a bad ignore line")


def _nested_classes(n: int) -> str:
    lines = []
    for i in range(n):
        ind = "    " * i
        lines += [
            f"{ind}class Level{i}:",
            f'{ind}    """Level {i} of a deep nesting."""',
            f"{ind}    def method{i}(self):",
            f"{ind}        return {i}",
        ]
    return "\n".join(lines) + "\n"


def _page(i: int) -> str:
    return (
        f"# Service {i}\n\n## Setup\n\nService {i} reads its settings from the shared configuration store "
        f"and reloads them when the store changes.\n\n## Rollback\n\nTo roll back service {i}, deploy the "
        f"previous release with the deploy tool and watch the error rate for ten minutes.\n"
    )


def _module(i: int) -> str:
    return "".join(
        f'def handler_{i}_{j}(event):\n    """Handle event {j} of module {i} and return its id."""\n'
        f"    return event.get('id', {j})\n\n"
        for j in range(20)
    )


def build_repo(root: Path, outside: Path, scale: int = 1) -> dict[str, str]:
    """Write the hostile repository; returns path -> what it is (for the report)."""
    root.mkdir(parents=True)
    outside.mkdir(parents=True)
    (outside / "secret.md").write_text(f"# Outside\n\n{OUTSIDE_MARKER} must never be read.\n")
    made: dict[str, str] = {}

    def put(rel: str, data: str | bytes, what: str) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        made[rel] = what

    for i in range(20 * scale):  # the ordinary part, which scales
        put(f"docs/service{i}.md", _page(i), "ordinary document")
        put(f"src/module{i}.py", _module(i), "ordinary code")
    put("deep.py", _nested_classes(150 * scale), "definitions nested 150 deep per scale")
    tokens = "\n".join(f"- the {name} credential is {ex}" for name, _, ex in TOKEN_FORMATS)
    put(
        f"docs/runbook-{PATH_SECRET}.md",
        f"# Runbook\n\n## Access\n\nThe database password is {PROSE_SECRET} for staging.\n"
        f"The AWS secret key is {AWS_SECRET} for the archive bucket.\n\n## Tokens\n\n{tokens}\n",
        "secrets in the name and the text",
    )
    put(
        "docs/terminal.md",
        "# Terminal\n\n## Escapes\n\nPlain words \x1b[2J\x1b[H then spoofed text \x1b]0;title\x07 "
        "and a bell.\n\n## Later\n\n" + ("Filler prose about the service.\n" * 300) + "\nA NUL \x00 after 8 KiB.\n",
        "terminal escapes and a NUL after the first 8 KiB",
    )
    put(
        "docs/html.md",
        "# HTML\n\n## Payload\n\n<script>alert(1)</script><img src=x onerror=alert(1)> in prose.\n",
        "HTML in text",
    )
    put("blob.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary under a code extension")
    put("bundle.js", "var a=" + "1+" * 6000 + "1;\n", "minified")
    put("huge.md", "# Huge\n\n" + "word " * 500_000, "too large")
    put("empty.py", "", "empty")
    put("latin1.md", "# Caf\u00e9\n\nUn caf\u00e9 cr\u00e8me, s'il vous pla\u00eet.\n".encode("latin-1"), "Latin-1")
    put(
        "mostly-utf8.md",
        "# Na\u00efve\n\nMostly UTF-8 caf\u00e9 text ".encode() + b"with one bad \xff byte.\n",
        "UTF-8 with a bad byte",
    )
    put(
        "utf16-nobom.md",
        "# Sixteen\n\nUTF-16 text without a byte-order mark.\n".encode("utf-16-le"),
        "UTF-16LE, no BOM",
    )
    put("bad-bom.md", b"\xff\xfe#\x00 \x00x", "a BOM that does not decode")
    put(".gitignore", "*.log\nfoo\\\n[z-a]\n", "bad ignore patterns")
    put("sub/.gitignore", "[z-a]\nhidden.md\n", "nested bad ignore pattern")
    _put_leak_cases(put)
    put("sub/hidden.md", "# Hidden\n\nignored\n", "gitignored")
    put("sub/visible.md", _page(999), "kept beside a bad pattern")
    put("debug.log", "noise\n", "gitignored")
    put("-rf.md", _page(1000), "a name like an option")
    put("name with spaces \u00e9\u4e2d.md", _page(1001), "spaces and non-ASCII in the name")
    put("x" * 200 + ".md", _page(1002), "a long name")
    put("runs/old/units.parquet", b"PAR1 not really", "an old run left in the repository")
    put("runs/old/datasets/qa/card.md", "# Card\n\ngenerated\n", "an old run left in the repository")
    with open(os.path.join(os.fsencode(root), b"bad\xffname.md"), "wb") as f:
        f.write(_page(1003).encode())
    made["bad\\udcffname.md"] = "a name that is not UTF-8"
    try:
        with open(os.path.join(root, "line\nbreak.md"), "w") as f:
            f.write(_page(1004))
        made["line\\nbreak.md"] = "a newline in the name"
    except OSError:
        pass
    os.mkfifo(root / "pipe.md")
    made["pipe.md"] = "a FIFO (reading it would block)"
    (root / "a").mkdir()
    (root / "b").mkdir()
    put("a/one.md", _page(1005), "in a symlink loop")
    put("b/two.md", _page(1006), "in a symlink loop")
    os.symlink("../b", root / "a" / "tob")
    os.symlink("../a", root / "b" / "toa")
    os.symlink(outside / "secret.md", root / "outside.md")
    os.symlink(outside, root / "outside_dir")
    os.symlink(".", root / "self")
    os.symlink("missing.md", root / "dangling.md")
    made.update(
        {
            "a/tob": "symlink loop",
            "b/toa": "symlink loop",
            "outside.md": "symlink out of the root",
            "outside_dir": "symlink out of the root",
            "self": "symlink to its own directory",
            "dangling.md": "broken symlink",
        }
    )
    return made


def _cli(args: list[str], timeout: float = 600) -> tuple[int, str, str, int]:
    """Run `corpus-ft ARGS` in a fresh process: (exit code, stdout, stderr, peak RSS in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "corpus_ft.cli", *args], stdout=out, stderr=err, env={**os.environ, "COLUMNS": "120"}
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss,
        )


def _all_entries(root: Path) -> list[str]:
    """Every file, link and special file under root (not following links), as the report spells paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in [*filenames, *[d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]]:
            rel = os.path.relpath(os.path.join(dirpath, name), os.fsencode(root))
            out.append(os.fsdecode(rel))
    return sorted(out)


def _accounted(rel: str, unit_paths: set[str], skipped: dict[str, str]) -> bool:
    from corpus_ft.redact import redact_path

    shown = ascii(rel)[1:-1] if not (rel.isprintable() and _utf8(rel)) else redact_path(rel)
    if shown in unit_paths or rel in unit_paths or shown in skipped or shown + "/" in skipped:
        return True
    return any(shown.startswith(d) for d in skipped if d.endswith("/"))


def _utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def run_once(base: Path, scale: int) -> dict:
    """One hostile repository, ingested, built, reviewed and sampled; what was checked and measured."""
    repo, outside, run = base / f"repo{scale}", base / f"outside{scale}", base / f"run{scale}"
    made = build_repo(repo, outside, scale)
    steps = {}
    for name, args in (
        ("ingest", ["ingest", str(repo), "--out", str(run), "--workers", "2", "--json"]),
        ("build", ["build", "all", "--run", str(run), "--json"]),
        ("review", ["review", str(run)]),
        ("sample", ["review", str(run), "--sample", "3"]),
    ):
        t0 = time.perf_counter()
        code, out, err, rss = _cli(args)
        steps[name] = {
            "exit": code,
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mib": round(rss / 1024, 1),
            "stdout": out,
            "stderr": err[-2000:],
        }
    report = json.loads(steps["ingest"]["stdout"]) if steps["ingest"]["exit"] == 0 else {}
    checks = inspect_run(repo, run, report, steps["sample"]["stdout"])
    return {
        "scale": scale,
        "files": len(_all_entries(repo)),
        "repo_bytes": _size(repo),
        "input_bytes": report.get("bytes_ingested") or 1,
        "steps": {k: {kk: vv for kk, vv in v.items() if kk not in ("stdout",)} for k, v in steps.items()},
        "peak_rss_mib": max(s["peak_rss_mib"] for s in steps.values()),
        "skipped_by_reason": report.get("skipped_by_reason", {}),
        **checks,
        "cases": made,
    }


def inspect_run(repo: Path, run: Path, report: dict, terminal: str) -> dict:
    """The checks on a finished run: files not accounted for, reads from outside the root, planted
    secrets outside units.parquet and .cache/, control characters in datasets or on the terminal; output size."""
    import pyarrow.parquet as pq

    skipped = {s["path"]: s["reason"] for s in report.get("skipped", [])}
    unit_paths = (
        set(pq.read_table(run / "units.parquet", columns=["path"]).column("path").to_pylist())
        if (run / "units.parquet").is_file()
        else set()
    )
    unaccounted = [e for e in _all_entries(repo) if not _accounted(e, unit_paths, skipped)]
    secrets = planted_secrets()
    leaks, outside_reads, control = [], [], []
    out_bytes = 0
    for p in sorted(run.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        out_bytes += len(data)
        rel = p.relative_to(run).as_posix()
        if OUTSIDE_MARKER.encode() in data:
            outside_reads.append(rel)
        if rel == "units.parquet" or rel.startswith(".cache/"):
            continue  # the raw input and ingest's own index of it (paths as on disk): never shared
        leaks += [f"{rel}: {s[:12]}…" for s in secrets if s.encode() in data]
        if (
            rel.startswith("datasets/")
            and p.suffix == ".jsonl"
            and (CONTROL.search(data.replace(b"\n", b" ")) or re.search(rb"\\u00[01][0-9a-f]|\\u007f", data))
        ):
            control.append(rel)
    if CONTROL.search(terminal.encode().replace(b"\n", b" ")):
        control.append("review --sample (terminal)")
    return {
        "output_bytes": out_bytes,
        "unaccounted": unaccounted,
        "outside_reads": outside_reads,
        "leaks": leaks,
        "control_characters": control,
    }


def _size(root: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def bench_hostile(scales: tuple[int, ...] = (1, 2), *, max_ratio: float = 1.5, keep: str | None = None) -> dict:
    """Run the hostile repository at each scale; `ok` is False with the reasons when a check fails."""
    with tempfile.TemporaryDirectory(prefix="corpus-ft-hostile-") as tmp:
        base = Path(keep) if keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        runs = [run_once(base, s) for s in scales]
        safety = safety_cases(base / "safety")
    problems = [f"{case}: {why}" for case, why in safety.items() if why]
    for r in runs:
        for name, step in r["steps"].items():
            if step["exit"] != 0:
                problems.append(f"scale {r['scale']}: {name} exited {step['exit']}: {step['stderr'][-300:]}")
        for key in ("unaccounted", "outside_reads", "leaks", "control_characters"):
            if r[key]:
                problems.append(f"scale {r['scale']}: {key}: {r[key][:5]}")
    linear = {}
    if len(runs) >= 2:  # per byte read, output and memory must not grow with size
        a, b = runs[0], runs[-1]
        grow = b["input_bytes"] / a["input_bytes"]
        linear = {
            "input_ratio": round(grow, 2),
            "output_ratio": round(b["output_bytes"] / a["output_bytes"], 2),
            "rss_ratio": round(b["peak_rss_mib"] / a["peak_rss_mib"], 2),
        }
        if linear["output_ratio"] > max_ratio * grow:
            problems.append(f"output grew {linear['output_ratio']}x for {linear['input_ratio']}x input read")
        if linear["rss_ratio"] > max_ratio * grow:
            problems.append(f"peak memory grew {linear['rss_ratio']}x for {linear['input_ratio']}x input read")
    return {"ok": not problems, "problems": problems, "runs": runs, "linear": linear, "safety": safety}


def print_bench(result: dict) -> None:
    for r in result["runs"]:
        steps = ", ".join(
            f"{k} {v['seconds']} s / {v['peak_rss_mib']} MiB (exit {v['exit']})" for k, v in r["steps"].items()
        )
        print(
            f"scale {r['scale']}: {r['files']} entries, {r['repo_bytes'] / 1e6:.2f} MB on disk, "
            f"{r['input_bytes'] / 1e6:.2f} MB read, "
            f"{r['output_bytes'] / 1e6:.2f} MB out; {steps}"
        )
        print(f"  skipped: {r['skipped_by_reason']}")
    if result["linear"]:
        print(
            f"linearity: input read x{result['linear']['input_ratio']}, output x{result['linear']['output_ratio']}, "
            f"peak memory x{result['linear']['rss_ratio']}"
        )
    safety = result.get("safety", {})
    if safety:
        print(f"safety cases (issue 24): {sum(v is None for v in safety.values())}/{len(safety)} held")
    print("all checks passed" if result["ok"] else "FAILED:\n  " + "\n  ".join(result["problems"]))


# --- issue 24: data loss, model files, the filesystem (each case in fresh processes, as a user runs them) ---


def _safety_cli(args: list[str], limit_fsize: int | None = None, limit_as: int | None = None, timeout: float = 120):
    """(exit code, stderr) of `corpus-ft ARGS` in a fresh process, optionally under a file-size or memory limit."""

    def limits():
        import resource
        import signal

        if limit_fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
        if limit_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    try:
        p = subprocess.run(
            [sys.executable, "-m", "corpus_ft.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limits,
            env={**os.environ, "COLUMNS": "120"},
        )
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s"
    return p.returncode, p.stderr


def _refused(code: int, err: str, *needles: str) -> str | None:
    """None when the command exited 2 with one error line holding every needle, else what went wrong."""
    if code != 2 or "Traceback" in err or not all(n in err for n in needles):
        return f"exit {code}: {err.strip()[-300:]}"
    return None


def _write_files(root: Path, files: dict) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())


def _gguf_header(kv: list[tuple[str, int, bytes]], tensors: bytes = b"", n_tensors: int = 0) -> bytes:
    import struct

    out = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kv))
    for key, vtype, value in kv:
        out += struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I", vtype) + value
    return out + tensors


def safety_cases(base: Path) -> dict[str, str | None]:
    """Issue 24's data-loss, model-file and filesystem rows: case -> None when it held, else the problem."""
    import struct

    base.mkdir(parents=True, exist_ok=True)
    repo = base / "safety-repo"
    pages = {
        f"docs/p{i}.md": f"# Page {i}\n\n## Setup\n\nService {i} reads its settings from the shared store and "
        f"reloads them when it changes, so nobody restarts it by hand. A setting it cannot parse keeps the old "
        f"value and raises an alert.\n\n## Rollback\n\nRoll back service {i} with the deploy tool and watch the "
        "error rate for ten minutes. If the rate does not fall, page the team that owns the service.\n"
        for i in range(12)
    }
    _write_files(repo, pages)
    out: dict[str, str | None] = {}

    # D1: the stale-temp cleaner leaves a user's temp-looking files under --out alone
    mine = base / "mine"
    user = {
        ".chapter1.tex.tmp": "thesis",
        ".cache/app/.state.tmp": "state",
        "photos/.album.old-999999-1/IMG.jpg": "jpg",
    }
    _write_files(mine, user)
    code, err = _safety_cli(["ingest", str(repo), "--out", str(mine), "--workers", "1"])
    lost = [rel for rel in user if not (mine / rel).is_file()]
    out["D1 user files under --out survive ingest"] = f"deleted {lost}" if lost else (err[-300:] if code else None)

    # O5: output may not be (or hold) the input
    code, err = _safety_cli(["ingest", str(repo), "--out", str(repo)])
    out["O5 ingest REPO --out REPO refused"] = _refused(code, err, "may not contain each other")

    # O6: a run of another repository is not overwritten
    other = base / "other-repo"
    _write_files(other, {"x.md": "# X\n\nAnother service.\n"})
    code, err = _safety_cli(["ingest", str(other), "--out", str(mine)])
    out["O6 ingest OTHER --out RUN_OF_A refused"] = _refused(code, err, "holds the run of")

    # D2: tiny-model and export never replace a folder with the user's files; export never replaces the run
    code, err = _safety_cli(["tiny-model", str(other), "--vocab-size", "300", "--hidden-size", "32", "--layers", "1"])
    out["D2 tiny-model DIR with user files refused"] = _refused(code, err, "did not write")
    (mine / "model" / "adapter").mkdir(parents=True, exist_ok=True)
    code, err = _safety_cli(["export", str(mine), "--merge", str(mine)])
    out["D2 export RUN --merge RUN refused"] = _refused(code, err, "holds the run")

    # D7: out of space during build: one line, exit 1, the previous datasets intact
    code, err = _safety_cli(["build", "paragraphs", "--run", str(mine), "--generator", "heuristic"])
    data = mine / "datasets" / "paragraphs" / "train.jsonl"
    before = data.read_bytes() if data.is_file() else b""
    code, err = _safety_cli(
        ["build", "paragraphs", "--run", str(mine), "--generator", "heuristic", "--force"], limit_fsize=2048
    )
    intact = data.is_file() and data.read_bytes() == before and len(before) > 2048
    out["D7 out of space: exit 1, one line, old outputs intact"] = (
        None
        if code == 1 and "out of space" in err and "Traceback" not in err and intact
        else f"exit {code}: {err[-300:]}"
    )

    # M7: model import never replaces a folder holding the user's files (the GGUF itself included)
    gguf = base / "models" / "m.gguf"
    llama = [("general.architecture", 8, struct.pack("<Q", 5) + b"llama")]
    _write_files(base / "models", {"m.gguf": _gguf_header(llama), "notes.txt": "mine"})
    code, err = _safety_cli(["model", "import", str(gguf), "--out", str(base / "models")])
    out["M7 model import --out DIR holding the GGUF refused"] = _refused(code, err, "holds the GGUF")

    # M1/M3: declared sizes past the limits are refused at once, under a 1 GiB memory limit
    bombs = {
        "M1 2^62-element array in 51 bytes": _gguf_header([("a.b", 9, struct.pack("<IQ", 4, 1 << 62))]),
        "M3 block_count 2^20": _gguf_header([*llama, ("llama.block_count", 4, struct.pack("<I", 1 << 20))]),
        "M3 3 MiB description string": _gguf_header([*llama, ("general.description", 8, struct.pack("<Q", 3 << 20))])
        + b"x" * (3 << 20),
    }
    for name, data_ in bombs.items():
        path = base / "models" / "bomb.gguf"
        path.write_bytes(data_)
        t0 = time.perf_counter()
        code, err = _safety_cli(["model", "import", str(path), "--out", str(base / "bomb-out")], limit_as=1 << 30)
        problem = _refused(code, err, "over the limit")
        out[f"{name} refused"] = problem or (None if time.perf_counter() - t0 < 60 else "took over 60 s")

    # M10: a symlink loop is a clear error
    loop_a, loop_b = base / "models" / "a.gguf", base / "models" / "b.gguf"
    for link, target in ((loop_a, loop_b), (loop_b, loop_a)):
        if not link.is_symlink():
            os.symlink(target, link)
    code, err = _safety_cli(["model", "import", str(loop_a), "--out", str(base / "loop-out")])
    out["M10 symlink loop is a clear error"] = _refused(code, err, "symlink loop")

    # X7: a 400-level tree is walked quickly, the part past the depth limit reported
    deep = base / "deep-repo"
    deep.mkdir(exist_ok=True)
    d = deep
    for _ in range(400):
        d = d / "d"
    os.makedirs(d, exist_ok=True)
    (d / "deep.md").write_text("# Deep\n\ntext\n")
    t0 = time.perf_counter()
    code, err = _safety_cli(["ingest", str(deep), "--out", str(base / "deep-run"), "--workers", "1", "--json"])
    seconds = time.perf_counter() - t0
    out["X7 400-level tree walked in linear time"] = (
        None if code == 0 and seconds < 60 else f"exit {code} after {seconds:.0f} s: {err[-300:]}"
    )
    return out
