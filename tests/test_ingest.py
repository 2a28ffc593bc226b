"""Ingest end to end: walk rules, bad input reported (never fatal), atomic outputs, reuse, parallel determinism, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_ft.ingest import UNIT_COLUMNS, IngestConfig, ingest_repo

FIXTURE = Path(__file__).parent / "fixtures" / "ingest" / "repo"
CLI = [sys.executable, "-m", "corpus_ft.cli"]


def units(run: Path) -> list[dict]:
    return pq.read_table(run / "units.parquet").to_pylist()


def skipped(report: dict) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory) -> tuple[dict, list[dict], Path]:
    run = tmp_path_factory.mktemp("ingest") / "run"
    report = ingest_repo(FIXTURE, run, workers=1)
    return report, units(run), run


def test_outputs_have_the_design_columns_in_a_fixed_order(fixture_run):
    report, rows, run = fixture_run
    assert pq.read_schema(run / "units.parquet").names == UNIT_COLUMNS
    assert {"units.parquet", "ingest_report.json", "manifest.json"} <= {p.name for p in run.iterdir()}
    assert not [p for p in run.iterdir() if ".tmp" in p.name], "a temp file was left behind"
    keys = [(r["path"], r["start_line"], -r["end_line"]) for r in rows]
    assert keys == sorted(keys)
    assert len({r["id"] for r in rows}) == len(rows)
    assert report["units"] == len(rows) and sum(report["units_by_kind"].values()) == len(rows)
    assert json.loads((run / "ingest_report.json").read_text())["files_ingested"] == report["files_ingested"]
    m = json.loads((run / "manifest.json").read_text())
    assert m["stage"] == "ingest" and len(m["inputs"]["repo"]["sha256"]) == 64


def test_gitignore_nested_and_negated(fixture_run):
    report, rows, _ = fixture_run
    reasons = skipped(report)
    assert reasons["debug.log"] == "gitignored"
    assert reasons["generated/"] == "gitignored"
    assert reasons["sub/secret.md"] == "gitignored"  # from sub/.gitignore
    assert reasons["keep.log"] == "unsupported_type"  # re-included by `!keep.log`, then no reader
    paths = {r["path"] for r in rows}
    assert "sub/public.md" in paths and "sub/secret.md" not in paths and "generated/out.md" not in paths


def _vendored_repo(root: Path) -> Path:
    for rel, text in {
        "src/app.js": "function main() { return 1; }\n",
        "node_modules/lib/index.js": "function vendored() {}\n",
        "services/api/vendor/dep.go": "package dep\nfunc Dep() {}\n",
        "build/gen.py": "def generated():\n    pass\n",
        "src/build/tool.py": "def real_tool():\n    pass\n",
        "web/app.min.js": "function m(){}\n",
        "package-lock.json": "{}\n",
        "Cargo.lock": "x\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_vendored_and_generated_trees_are_skipped_by_default_and_can_be_read(tmp_path):
    repo = _vendored_repo(tmp_path / "repo")
    report = ingest_repo(repo, tmp_path / "run", workers=1)
    reasons = skipped(report)
    for path in (
        "node_modules/",
        "services/api/vendor/",
        "build/",
        "web/app.min.js",
        "package-lock.json",
        "Cargo.lock",
    ):
        assert reasons[path] == "excluded", path
    names = {r["name"] for r in units(tmp_path / "run")}
    assert names == {"main", "real_tool"}  # a nested src/build/ is source, only the root build/ is output

    report = ingest_repo(repo, tmp_path / "run2", workers=1, config=IngestConfig(default_excludes=[]))
    names = {r["name"] for r in units(tmp_path / "run2")}
    assert {"vendored", "Dep", "generated", "m"} <= names


def test_include_and_exclude_globs(tmp_path):
    ingest_repo(FIXTURE, tmp_path / "py", workers=1, include=["*.py"])
    assert {r["language"] for r in units(tmp_path / "py")} == {"python"}
    report = ingest_repo(FIXTURE, tmp_path / "nodocs", workers=1, exclude=["docs/"])
    assert skipped(report)["docs/"] == "excluded"
    assert not [r for r in units(tmp_path / "nodocs") if r["path"].startswith("docs/")]


def _bad_repo(root: Path, outside: Path) -> Path:
    """One file or link per kind of bad input."""
    root.mkdir(parents=True)
    outside.mkdir(parents=True)
    (outside / "secret.md").write_text("# Outside\n\nOUTSIDE-SECRET must never be ingested.\n")
    (root / "good.py").write_text("def fine():\n    return 1\n")
    (root / "unreadable.py").write_text("def hidden():\n    pass\n")
    os.chmod(root / "unreadable.py", 0)
    (root / "latin1.md").write_bytes("# Café\n\nLe résumé du déjà-vu à l'hôtel, très élégant.\n".encode("cp1252") * 5)
    (root / "utf16.md").write_bytes("# Unicode heading\n\nText in UTF-16 with a BOM.\n".encode("utf-16"))
    (root / "bad_bom.md").write_bytes(b"\xff\xfe#\x00 \x00x")  # UTF-16 BOM, odd byte count
    (root / "nul.py").write_bytes(b"def f():\n    return '\x00\x01\x02'\n")
    (root / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (root / "huge.md").write_text("# Big\n\n" + "word " * 10_000)
    (root / "minified.js").write_text("var a=" + "1+" * 4000 + "1;function f(){return a}\n")
    (root / "empty.py").write_text("")
    (root / "blank.md").write_text("\n   \n\t\n")
    (root / "syntax_error.py").write_text("def ok():\n    pass\n\ndef broken(:\n    pass\n\ndef after():\n    pass\n")
    (root / "README").write_text("A readme without an extension.\n")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.py"), "wb") as f:  # a Latin-1 file name
        f.write(b"def named_badly():\n    pass\n")
    (root / "notes").write_text("plain text of a kind ingest has no reader for\n")
    os.symlink(".", root / "loop")
    os.symlink("self_link", root / "self_link")
    os.symlink(outside / "secret.md", root / "outside.md")
    os.symlink(outside, root / "outside_dir")
    os.symlink("missing.md", root / "dangling.md")
    (root / "locked").mkdir()
    (root / "locked" / "inside.md").write_text("# Locked\n\nnever read\n")
    os.chmod(root / "locked", 0)
    (root / "docs").mkdir()
    os.symlink("../good.py", root / "docs" / "alias.py")  # inside the root: followed
    return root


def _run_cli(args: list[str]) -> subprocess.CompletedProcess:
    """Run `corpus-ft`; as root, without the capabilities that let root read a mode-000 file."""
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run(prefix + CLI + args, capture_output=True, text=True, timeout=120)


def test_bad_input_is_reported_with_its_reason_and_never_stops_the_run(tmp_path):
    repo = _bad_repo(tmp_path / "repo", tmp_path / "outside")
    run = tmp_path / "run"
    proc = _run_cli(["ingest", str(repo), "--out", str(run), "--workers", "2", "--max-file-bytes", "20000", "--json"])
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    reasons = skipped(report)
    expected = {
        "unreadable.py": "unreadable",
        "bad_bom.md": "decode_error",
        "nul.py": "binary",
        "picture.txt": "binary",
        "huge.md": "too_large",
        "minified.js": "minified",
        "empty.py": "empty",
        "blank.md": "empty",
        "loop/": "symlink_loop",
        "self_link": "symlink_loop",
        "outside.md": "symlink_outside_root",
        "outside_dir/": "symlink_outside_root",
        "dangling.md": "broken_symlink",
        "notes": "unsupported_type",
        "locked/": "unreadable",
        "caf\\udce9.py": "bad_file_name",
    }
    for path, reason in expected.items():
        assert reasons.get(path) == reason, (path, reasons.get(path))
    assert all(s["detail"] for s in report["skipped"] if s["path"] in expected)  # says why, not just what
    assert report["skipped_by_reason"]["binary"] == 2
    warnings = {(w["path"], w["kind"]) for w in report["warnings"]}
    assert ("syntax_error.py", "syntax_error") in warnings
    assert ("latin1.md", "encoding") in warnings
    assert next(w for w in report["warnings"] if w["path"] == "syntax_error.py")["line"] == 4

    rows = units(run)
    by_path = {}
    for r in rows:
        by_path.setdefault(r["path"], []).append(r)
    assert {"ok", "after"} <= {r["name"] for r in by_path["syntax_error.py"]}  # recovered around the error
    assert by_path["utf16.md"][0]["heading_path"] == ["Unicode heading"]
    assert "Café" in by_path["latin1.md"][0]["name"]
    assert [r["name"] for r in by_path["docs/alias.py"]] == ["fine"]  # a link inside the root is read
    assert "README" in by_path
    assert not any("OUTSIDE-SECRET" in r["text"] for r in rows)
    assert not any(r["path"].startswith(("outside", "loop/")) for r in rows)
    assert report["files_ingested"] + report["files_skipped"] == report["files_seen"]
    assert "ingest:" in proc.stderr and "skipped" in proc.stderr  # the summary table


@pytest.mark.parametrize("make", ["missing", "file"])
def test_missing_or_bad_repo_dir_exits_non_zero_with_one_line(tmp_path, make):
    target = tmp_path / "nope"
    if make == "file":
        target.write_text("not a directory")
    proc = subprocess.run(
        CLI + ["ingest", str(target), "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and str(target) in proc.stderr
    assert not (tmp_path / "run" / "units.parquet").exists()


def test_unchanged_rerun_reuses_everything_and_a_changed_file_is_reparsed(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo, symlinks=True)
    run = tmp_path / "run"
    first = ingest_repo(repo, run, workers=1)
    before = units(run)
    stamp = (run / "units.parquet").stat().st_mtime_ns

    again = ingest_repo(repo, run, workers=1)
    assert again["cache"] == {"reused_files": first["cache"]["parsed_files"], "parsed_files": 0, "unchanged": True}
    assert (run / "units.parquet").stat().st_mtime_ns == stamp
    assert again["units"] == first["units"]

    same = repo / "docs" / "notes.txt"
    st = same.stat()  # touched: new mtime, same bytes -> known by its hash, not parsed again
    os.utime(same, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    src = repo / "py" / "billing.py"
    src.write_text(src.read_text() + "\n\ndef added_later(x):\n    return x\n")
    (repo / "ruby" / "report.rb").unlink()
    changed = ingest_repo(repo, run, workers=1)
    assert changed["cache"]["parsed_files"] == 1 and not changed["cache"]["unchanged"]
    assert changed["cache"]["reused_files"] == first["cache"]["parsed_files"] - 2  # all but billing.py, report.rb
    after = units(run)
    assert "added_later" in {r["name"] for r in after if r["path"] == "py/billing.py"}
    assert not [r for r in after if r["path"] == "ruby/report.rb"]
    untouched = lambda rows: [r for r in rows if r["path"] not in ("py/billing.py", "ruby/report.rb")]  # noqa: E731
    assert untouched(after) == untouched(before)

    fresh = tmp_path / "fresh"
    ingest_repo(repo, fresh, workers=1)
    assert units(fresh) == after  # reuse gives exactly what a clean run gives


def test_output_is_identical_whatever_the_worker_count(tmp_path, fixture_run):
    _, rows, _ = fixture_run
    ingest_repo(FIXTURE, tmp_path / "two", workers=2, config=IngestConfig(parallel_min_bytes=0))
    assert units(tmp_path / "two") == rows


def test_parallel_rerun_over_many_chunks_merges_kept_and_new_files_in_path_order(tmp_path, monkeypatch):
    """Every file its own chunk, two workers, changed files spread among reused ones: the
    streamed write must give exactly the rows of a clean one-process run."""
    import corpus_ft.ingest as ingest

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo, symlinks=True)
    run = tmp_path / "run"
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 1)
    parallel = IngestConfig(parallel_min_bytes=0)
    ingest_repo(repo, run, workers=2, config=parallel)
    for rel in ("docs/notes.txt", "py/billing.py", "web/store.ts"):  # first, middle and late in path order
        path = repo / rel
        path.write_text(path.read_text() + "\n")
    (repo / "go" / "server.go").unlink()
    changed = ingest_repo(repo, run, workers=2, config=parallel)
    assert changed["cache"]["parsed_files"] == 3 and changed["cache"]["reused_files"] > 10

    ingest_repo(repo, tmp_path / "fresh", workers=1)
    rows = units(run)
    assert rows == units(tmp_path / "fresh")
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert pq.ParquetFile(run / "units.parquet").metadata.num_rows == len(rows)


def test_a_parser_crash_loses_only_its_file(tmp_path, monkeypatch):
    """A worker that dies (as a segfault in a grammar would kill it) breaks the pool; ingest
    finds the file that does it and reads every other file."""
    import corpus_ft.ingest as ingest
    import corpus_ft.ingest.parse as parse

    real, test_process = parse.parse_file, os.getpid()

    def crashing(path, *args, **kwargs):
        if path.endswith("billing.py"):
            assert os.getpid() != test_process, "billing.py was parsed in the test process, not in a worker"
            os._exit(1)  # the worker process dies, as on a segfault
        return real(path, *args, **kwargs)

    monkeypatch.setattr(parse, "parse_file", crashing)  # the forked workers inherit it
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 1)  # several chunks, so the pool is used
    report = ingest_repo(FIXTURE, tmp_path / "run", workers=2, config=IngestConfig(parallel_min_bytes=0))
    crash = next(s for s in report["skipped"] if s["path"] == "py/billing.py")
    assert crash["reason"] == "parse_error" and "crashed" in crash["detail"]

    monkeypatch.setattr(parse, "parse_file", real)
    ingest_repo(FIXTURE, tmp_path / "clean", workers=1)
    assert units(tmp_path / "run") == [r for r in units(tmp_path / "clean") if r["path"] != "py/billing.py"]


def test_import_stays_light():
    code = (
        "import sys, corpus_ft.ingest; heavy = {'torch', 'transformers', 'datasets', 'tree_sitter', 'pyarrow'}"
        " & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unreadable_repo_dir_exits_non_zero_with_one_line(tmp_path):
    repo = tmp_path / "locked"
    repo.mkdir()
    (repo / "a.md").write_text("# A\n\ntext\n")
    os.chmod(repo, 0)
    proc = _run_cli(["ingest", str(repo), "--out", str(tmp_path / "run")])
    os.chmod(repo, 0o755)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "cannot read" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_an_extensionless_script_is_not_read_as_a_document(tmp_path):
    """`scripts/install` with a shebang is shell, not prose: reported as a type with no reader, no units."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "install").write_text(
        "#!/bin/sh -e\n# Use the Python 3 interpreter.\npip install -r reqs.txt\n"
    )
    (repo / "NOTICE").write_text("Release notes live in the wiki; ask the platform team for access to it.\n")
    (repo / "README.md").write_text("# Tool\n\nThe tool exports ledgers to the archive every night at two.\n")
    report = ingest_repo(repo, tmp_path / "run")
    paths = set(pq.read_table(tmp_path / "run" / "units.parquet", columns=["path"]).column("path").to_pylist())
    assert "scripts/install" not in paths and {"NOTICE", "README.md"} <= paths
    skipped = {s["path"]: s for s in report["skipped"]}
    assert (
        skipped["scripts/install"]["reason"] == "unsupported_type"
        and "#!/bin/sh" in skipped["scripts/install"]["detail"]
    )
