"""Small shared pieces every stage needs: user-facing errors, atomic outputs, manifests."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any


class CorpusFtError(Exception):
    """An error the user can act on: the message names the file, line or key and the fix.

    The CLI prints it as one line (no traceback) and exits with `exit_code`
    (2 for bad input, 1 for a failure while working).
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class StoppedBySignal(CorpusFtError):
    """Work stopped on SIGINT/SIGTERM after saving what a resume needs; exit code 128 + the signal."""


_NO_SPACE = (28, 122, 27)  # ENOSPC, EDQUOT, EFBIG (a file-size limit)


def no_space(error: BaseException) -> OSError | None:
    """The out-of-space OSError behind `error` (its causes and contexts too: libraries wrap it), or None."""
    seen = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _NO_SPACE:
            return e
        if "No space left on device" in str(e) or "Disk quota exceeded" in str(e):
            return e if isinstance(e, OSError) else OSError(28, "No space left on device")
        e = e.__cause__ or e.__context__
    return None


def no_space_message(error: OSError) -> str:
    """One line for a write that ran out of space: where, why, and that nothing already written was lost."""
    where = f" writing {error.filename}" if getattr(error, "filename", None) else ""
    return (
        f"out of space{where} ({error.strerror or 'No space left on device'}); free disk space (or raise the "
        "quota or file-size limit) and run the command again - outputs are written atomically, so the "
        "previous ones are intact"
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_tree(path: str | os.PathLike) -> str:
    """Hash of a file, or of every file under a directory (names and contents), for manifests."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(p.relative_to(path).as_posix().encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Every temp name carries the writing process's token (`cft-<pid>-<random>`) and sits beside the
# output it will replace (`.units.parquet.cft-4242-k3j2h1ab.tmp`), so a cleaner can tell it from a
# user's `.notes.tmp` and from a live writer's temp: it removes only dead processes' temps of outputs
# it is about to write, or, under the run lock, of the run's own outputs.
_TEMP = re.compile(r"^\.(?P<name>.+)\.cft-(?P<pid>\d+)-[a-z0-9_]{8}\.(?:tmp|old)$")


def temp_prefix(final: Path) -> str:
    """The start of every temp name this process uses for `final`: the output's name and the process's token."""
    return f".{final.name}.cft-{os.getpid()}-"


def _random8() -> str:
    import secrets

    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))


def is_stale_temp(name: str, output: str | None = None) -> bool:
    """True for a temp name of a process that is gone (of `output` only, when given)."""
    m = _TEMP.match(name)
    return bool(m) and (output is None or m.group("name") == output) and not _alive(int(m.group("pid")))


def clean_temps_of(final: Path) -> list[str]:
    """Remove temps that dead writers left beside `final` (a kill -9 mid-write); only `final`'s own, by name."""
    removed = []
    try:
        names = os.listdir(final.parent)
    except OSError:
        return removed
    for name in names:
        if is_stale_temp(name, final.name):
            _remove(final.parent / name)
            removed.append(name)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _tmp_sibling(final: Path, suffix: str = "") -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_temps_of(final)
    fd, name = tempfile.mkstemp(prefix=temp_prefix(final), suffix=f".tmp{suffix}", dir=final.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    os.close(fd)
    return Path(name)


def temp_dir_beside(final: str | os.PathLike) -> Path:
    """An empty directory beside `final`, named with this process's token (cleaned if the process dies)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_temps_of(final)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(final), suffix=".tmp", dir=final.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; others may read what a run writes
    return tmp


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` to write (by any library); on success it replaces `path`.

    Readers see the old file or the new one, never half of it; on an exception the temp file
    is removed and `path` is untouched.
    """
    final = Path(path)
    tmp = _tmp_sibling(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write a file so that readers see the old content or the new, never half of it."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temp directory beside `path`; on success it replaces `path` whole.

    On an exception (in the body or the swap) the temp directory is removed and `path` keeps its
    previous content, so a crash never leaves a half-written output that looks complete.
    """
    final = Path(path)
    tmp = temp_dir_beside(final)
    try:
        yield tmp
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(src: str | os.PathLike, final: str | os.PathLike) -> None:
    """Swap a finished directory into place: `final` is the old tree or the new, never a mix."""
    src, final = Path(src), Path(final)
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f"{temp_prefix(final)}{_random8()}.old")
        os.replace(final, old)
    try:
        os.replace(src, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        _remove(old)


def contains(outer: str | os.PathLike, inner: str | os.PathLike) -> bool:
    """True when `inner` is `outer` or lies under it (after resolving links): input and output must not nest."""
    a, b = Path(os.path.realpath(outer)), Path(os.path.realpath(inner))
    return a == b or a in b.parents


def real_path(path: str | os.PathLike, what: str = "path") -> Path:
    """`path` with every link resolved; a symlink loop is a clear error, not a RuntimeError traceback."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as e:  # Python < 3.13 raises RuntimeError on a loop, later ones OSError
        raise CorpusFtError(
            f"{path}: the {what} is a symlink loop or unreadable ({getattr(e, 'strerror', None) or e}); "
            "point it at a real file"
        ) from None


def clean_temps_in(folder: str | os.PathLike) -> list[str]:
    """Remove dead processes' temps at the top of `folder`, a directory only corpus-ft writes (the model cache)."""
    removed = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if is_stale_temp(name):
                _remove(Path(folder) / name)
                removed.append(name)
    return removed


OWNED = ".corpus-ft-files"  # in a directory corpus-ft wrote whole: every file it put there


@contextlib.contextmanager
def owned_dir(path: str | os.PathLike, what: str, legacy: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """atomic_dir for a directory the user names (a model, an export): it replaces only a directory
    corpus-ft wrote (its OWNED list covers every file, or `legacy` recognises an older output), never
    a folder holding the user's own files; the new directory lists its files in OWNED."""
    final = Path(path)
    check_replaceable(final, what, legacy)
    with atomic_dir(final) as tmp:
        yield tmp
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if not p.is_dir())
        (tmp / OWNED).write_text("".join(f + "\n" for f in files), encoding="utf-8")


def check_replaceable(final: Path, what: str, legacy: Callable[[Path], bool] | None = None) -> None:
    """Refuse to replace `final` unless it is missing, empty or a directory corpus-ft wrote, naming the path."""
    if not final.name or final.name in (".", ".."):
        raise CorpusFtError(f"{final}: give the {what} a directory of its own (a name, not . or ..)")
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise CorpusFtError(f"{final}: not a directory; give the {what} a new directory")
    if not final.is_dir():
        return
    listed = final / OWNED
    if listed.is_file() and not listed.is_symlink():
        known = set(listed.read_text(encoding="utf-8", errors="replace").splitlines()) | {OWNED}
    elif legacy is not None and legacy(final):
        return  # an output of an earlier corpus-ft, from before the OWNED list
    else:
        known = set()  # not ours: the first file found refuses it (no walk of a whole home directory)
    try:
        for p in final.rglob("*"):
            rel = p.relative_to(final).as_posix()
            if rel not in known and not p.is_dir():
                raise CorpusFtError(
                    f"{final}: holds files corpus-ft did not write ({p}); it would replace the whole "
                    f"directory, so it refuses: give the {what} a new or empty directory"
                )
    except OSError as e:
        raise CorpusFtError(f"{final}: cannot read it ({e.strerror}); give the {what} a new directory") from None


LOCK_FILE = ".corpus-ft.lock"
_held: dict[str, list] = {}  # run dir -> [fd, depth]: a process re-enters its own lock (run -> stages)


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, stage: str, create: bool = False) -> Iterator[None]:
    """One writer per run directory: held by every stage that writes (fcntl.flock on the directory,
    released when the process dies). A second process gets a CorpusFtError naming the holder instead of racing it.
    On first acquisition, temp files that a killed writer left behind are removed. Only a stage
    that makes the run directory (`create`: ingest, run) creates it; for the others a missing
    directory is left to their own "not found" error."""
    import fcntl

    run = Path(run_dir)
    if os.environ.get("RANK", "0") not in ("", "0") or (not create and not run.is_dir()):
        yield  # accelerate/torchrun: rank 0 holds it for all
        return
    key = os.path.realpath(run)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    created = not run.exists()
    run.mkdir(parents=True, exist_ok=True)
    # The lock is on the directory itself (flock works on a directory's descriptor), so nothing is
    # left in the run directory; LOCK_FILE only says who holds it and goes when the holder is done.
    fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
    info = run / LOCK_FILE
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        try:
            holder = info.read_text(encoding="utf-8", errors="replace").strip()[:200]
        except OSError:
            holder = ""
        raise CorpusFtError(
            f"{run}: in use by {holder or 'another corpus-ft process'}; one process writes a run "
            "directory at a time - wait for it to finish or use another run directory",
            exit_code=1,
        ) from None
    _held[key] = [fd, 1]
    try:
        info.write_text(
            f"corpus-ft {stage} (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime())})\n",
            encoding="utf-8",
        )
        clean_stale_temps(run)
        yield
    finally:
        del _held[key]
        info.unlink(missing_ok=True)
        if created and not any(run.iterdir()):
            run.rmdir()  # a stage that failed at once leaves no run directory behind
        os.close(fd)


def with_run_lock(stage: str, run_arg: str, resolve=None, create: bool = False):
    """Decorator: hold the run directory's lock (see run_lock) for the call; `run_arg` names the
    parameter that is the run directory (`resolve` maps its value to the directory)."""
    import functools
    import inspect

    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            value = sig.bind_partial(*args, **kwargs).arguments[run_arg]
            with run_lock(resolve(value) if resolve else value, stage, create):
                return fn(*args, **kwargs)

        return wrapper

    return deco


_CLEAN_DEPTH = 4  # the deepest a run's outputs sit (model/checkpoints/checkpoint-N/file)


def clean_stale_temps(run_dir: str | os.PathLike) -> list[str]:
    """Remove temps (`.units.parquet.cft-PID-xxxxxxxx.tmp`, `datasets/.qa.cft-PID-xxxxxxxx.tmp`) that a
    killed writer left; called under the run lock. Only names with a dead process's token match, a
    user's `.notes.tmp` never does, and the walk stays within the depth of a run's outputs."""
    removed = []
    root = Path(run_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        for name in [*dirnames, *filenames]:
            if not is_stale_temp(name):
                continue
            full = Path(dirpath) / name
            _remove(full)
            if name in dirnames:
                dirnames.remove(name)
            removed.append(full.relative_to(root).as_posix())
        if depth + 1 >= _CLEAN_DEPTH:
            dirnames.clear()
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_VERSIONED = (
    "corpus-ft",
    "torch",
    "transformers",
    "peft",
    "trl",
    "datasets",
    "accelerate",
    "bitsandbytes",
    "tokenizers",
    "tree-sitter",
    "langchain-text-splitters",
)


def package_versions(names: tuple[str, ...] = _VERSIONED) -> dict[str, str]:
    from importlib import metadata  # 20 ms of import every command would pay, for a manifest

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _shown_config(config: Mapping[str, Any]) -> dict:
    """A config as a manifest keeps it: a credential in a URL (an endpoint's `user:pw@`) never written."""
    from corpus_ft.redact import redact_settings

    return redact_settings(json.loads(json.dumps(dict(config), default=str)))


def manifest(stage: str, inputs: Mapping[str, str | os.PathLike], config: Mapping[str, Any]) -> dict:
    """What a stage read (hashes), how it was configured and with which packages."""
    return {
        "stage": stage,
        "inputs": {
            k: {"path": str(v), "sha256": sha256_tree(v) if Path(v).exists() else None} for k, v in inputs.items()
        },
        "config": _shown_config(config),
        "versions": package_versions(),
        "python": sys.version.split()[0],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def manifest_stage(out_dir: str | os.PathLike) -> str | None:
    """The `stage` that wrote `out_dir/manifest.json`, or None (no manifest, or not one of ours)."""
    try:
        data = json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("stage") if isinstance(data, dict) else None


def write_manifest(
    out_dir: str | os.PathLike, stage: str, inputs: Mapping[str, str | os.PathLike], config: Mapping[str, Any]
) -> dict:
    m = manifest(stage, inputs, config)
    atomic_write_json(Path(out_dir) / "manifest.json", m)
    return m


def is_up_to_date(
    out_dir: str | os.PathLike, inputs: Mapping[str, str | os.PathLike], config: Mapping[str, Any]
) -> bool:
    """True when `out_dir/manifest.json` records the same input hashes and config."""
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        return False
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    new = manifest("", inputs, config)
    same_inputs = {k: v["sha256"] for k, v in old.get("inputs", {}).items()} == {
        k: v["sha256"] for k, v in new["inputs"].items()
    }
    return same_inputs and json.loads(json.dumps(old.get("config"), default=str)) == json.loads(
        json.dumps(_shown_config(config), default=str)
    )


def iter_jsonl(path: str | os.PathLike, fix: str = "fix or remove that line") -> Iterator[tuple[Any, int]]:
    """(object, line number) per non-empty line; a bad line is a CorpusFtError naming file, line and `fix`."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise CorpusFtError(
                    f"{path}:{lineno}: not UTF-8 (byte 0x{raw[e.start]:02x}); save the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                yield json.loads(line), lineno
            except (json.JSONDecodeError, RecursionError) as e:
                why = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
                raise CorpusFtError(f"{path}:{lineno}: not valid JSON ({why}); {fix}") from None


def read_utf8(path: str | os.PathLike, what: str = "file") -> str:
    """The file as UTF-8 text; other bytes are an error naming the line (settings files are UTF-8)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusFtError(
            f"{path}:{line}: the {what} is not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); save it as UTF-8"
        ) from None


_INT_LIMIT = 2**63 - 1  # no setting needs more; YAML turns 1e400 into inf and 10**400 into a huge int


def check_yaml_safety(text: str, path: str | os.PathLike):
    """The composed YAML tree, after refusing what a settings file never needs and an attacker uses:
    aliases (billion laughs), duplicate keys (the last would silently win), non-finite and huge numbers."""
    import math

    import yaml

    def error(node_or_event, message: str) -> CorpusFtError:
        return CorpusFtError(f"{path}:{node_or_event.start_mark.line + 1}: {message}")

    for event in yaml.parse(text, Loader=yaml.SafeLoader):  # events: aliases are seen, never expanded
        if isinstance(event, yaml.AliasEvent):
            raise error(event, f"YAML alias *{event.anchor} is not allowed here; write the value out in full")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    stack = [(root, "")] if root is not None else []
    while stack:
        node, key = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else str(k.tag)
                full = f"{key}.{name}" if key else name
                if name in seen:
                    raise error(k, f"{full}: duplicate key (first at line {seen[name]}); keep one of them")
                seen[name] = k.start_mark.line + 1
                stack.append((v, full))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, f"{key}[{i}]") for i, v in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and node.tag in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int"):
            value = yaml.safe_load(node.value)
            if (
                isinstance(value, float)
                and not math.isfinite(value)
                or isinstance(value, int)
                and not isinstance(value, bool)
                and abs(value) > _INT_LIMIT
            ):
                raise error(node, f"{key or '(top level)'}: {node.value} is not a usable number; give a finite value")
    return root


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read JSON lines; a bad line is a CorpusFtError naming file and line."""
    return [row for row, _ in iter_jsonl(path)]


def write_jsonl(path: str | os.PathLike, rows) -> Path:
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def offline_env() -> None:
    """Keep huggingface_hub from reaching for the network; must run before it is imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bitsandbytes' CPU backend tries a hub-hosted kernel and warns when it cannot fetch it;
    # offline that is expected and its built-in kernel is used.
    import logging

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
