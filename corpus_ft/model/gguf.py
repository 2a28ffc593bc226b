"""Import a Llama-family GGUF file (llama.cpp, Ollama exports) as a plain transformers model directory.

transformers reads GGUF (`from_pretrained(dir, gguf_file=…)`, dequantising to fp32) but will not
`save_pretrained` the result, so the weights are copied into a fresh `LlamaForCausalLM` of the
same config and saved as safetensors with the tokenizer and its chat template. The directory
then loads in about a second through the ordinary `from_pretrained` path every stage uses.
"""

from __future__ import annotations

import errno
import json
import os
import struct
from pathlib import Path

from corpus_ft.util import CorpusFtError, check_replaceable, contains, offline_env, owned_dir, real_path, sha256_file

# Architectures that transformers maps to LlamaForCausalLM-compatible configs from GGUF.
LLAMA_FAMILY = ("llama", "mistral")
PROVENANCE = "corpus_ft_model.json"
_REFETCH = "download the file again (a file that declares more than it holds is corrupt or hostile)"

# --- a bounded reader of the GGUF header -----------------------------------------------------------
# A model file is untrusted input: every count, length and size is checked against a limit and against
# what the file can hold before anything is read or allocated, so a 49-byte file cannot declare a
# 2^62-element array, and a 57 KB file cannot declare a million layers (gguf's reader and transformers
# would allocate for them). The limits sit well above the largest published Llama-family models.
MAX_TENSORS = 1 << 16
MAX_KV = 1 << 16
MAX_KEY = 1 << 16  # bytes of one key
MAX_STRING = 1 << 20  # bytes of one string value (a chat template is a few KB)
MAX_ARRAY = 1 << 20  # elements of one array (vocabularies are up to ~260 k tokens)
MAX_ARRAY_TOTAL = 1 << 22  # elements of all arrays together
MAX_DIMS = 4
# Hyperparameters transformers allocates for: `<arch>.<key>` -> the largest value accepted.
HPARAM_LIMITS = {
    "block_count": 1024,
    "embedding_length": 1 << 17,
    "feed_forward_length": 1 << 20,
    "attention.head_count": 1 << 12,
    "attention.head_count_kv": 1 << 12,
    "context_length": 1 << 24,
    "vocab_size": 1 << 20,
}
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class _Bounded:
    """Reads from a file, refusing to read past its end or to accept a length above a limit."""

    def __init__(self, f, size: int, path: Path):
        self.f, self.size, self.path = f, size, path
        self.array_total = 0

    def fail(self, why: str) -> CorpusFtError:
        return CorpusFtError(f"{self.path}: corrupt or truncated GGUF ({why}); {_REFETCH}")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.f.tell() + n > self.size:
            raise self.fail(f"{what} needs {n:,} bytes at offset {self.f.tell():,}, the file has {self.size:,}")

    def unpack(self, fmt: str, what: str):
        n = struct.calcsize(fmt)
        self.need(n, what)
        return struct.unpack(fmt, self.f.read(n))[0]

    def string(self, what: str, limit: int = MAX_STRING, keep: bool = True) -> str | None:
        n = self.unpack("<Q", f"{what}'s length")
        if n > limit:
            raise self.fail(f"{what} is {n:,} bytes long, over the limit of {limit:,}")
        self.need(n, what)
        if not keep:
            self.f.seek(n, 1)
            return None
        return self.f.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, what: str, keep: bool):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype], what)
        if vtype == _STRING:
            return self.string(what, keep=keep)
        if vtype != _ARRAY:
            raise self.fail(f"{what} has unknown value type {vtype}")
        etype = self.unpack("<I", f"{what}'s element type")
        count = self.unpack("<Q", f"{what}'s length")
        self.array_total += count
        if count > MAX_ARRAY or self.array_total > MAX_ARRAY_TOTAL:
            raise self.fail(f"{what} declares {count:,} elements, over the limit of {MAX_ARRAY:,}")
        if etype in _SCALARS:
            self.need(count * struct.calcsize(_SCALARS[etype]), what)
            self.f.seek(count * struct.calcsize(_SCALARS[etype]), 1)
        elif etype == _STRING:
            self.need(count * 8, what)
            for i in range(count):
                self.string(f"{what}[{i}]", keep=False)
        else:
            raise self.fail(f"{what} is an array of type {etype}; nested arrays are not accepted")
        return _ArrayLen(count)


class _ArrayLen(int):
    """The length of an array value (its elements are skipped, not kept)."""


def read_header(path: str | os.PathLike) -> dict:
    """Metadata (scalars and strings; arrays as their length) and tensors of a GGUF, every size bounded."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        r = _Bounded(f, size, path)
        if f.read(4) != b"GGUF":
            raise r.fail("no GGUF magic")
        version = r.unpack("<I", "version")
        if version not in (2, 3):
            raise r.fail(f"version {version}; corpus-ft reads little-endian GGUF versions 2 and 3")
        n_tensors, n_kv = r.unpack("<Q", "tensor count"), r.unpack("<Q", "metadata count")
        if n_tensors > MAX_TENSORS or n_kv > MAX_KV:
            raise r.fail(f"{n_tensors:,} tensors and {n_kv:,} metadata entries declared, over the limit of {MAX_KV:,}")
        meta: dict = {}
        for i in range(n_kv):
            key = r.string(f"metadata key {i}", MAX_KEY)
            vtype = r.unpack("<I", f"{key}'s type")
            meta[key] = r.value(vtype, key, keep=True)
        tensors = []
        for i in range(n_tensors):
            name = r.string(f"tensor name {i}", MAX_KEY)
            n_dims = r.unpack("<I", f"{name}'s dimension count")
            if not 1 <= n_dims <= MAX_DIMS:
                raise r.fail(f"tensor {name} has {n_dims} dimensions")
            dims = [r.unpack("<Q", f"{name}'s shape") for _ in range(n_dims)]
            ttype = r.unpack("<I", f"{name}'s type")
            offset = r.unpack("<Q", f"{name}'s offset")
            try:
                block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
            except (ValueError, KeyError):
                raise r.fail(f"tensor {name} has unknown type {ttype}") from None
            elements = 1
            for d in dims:
                if d == 0 or d > size * block:  # no dimension can hold more elements than the file has bytes
                    raise r.fail(f"tensor {name} has shape {dims}")
                elements *= d
            n_bytes = elements // block * type_size
            if elements % block or n_bytes > size:
                raise r.fail(f"tensor {name} of shape {dims} needs {n_bytes:,} bytes, the file has {size:,}")
            tensors.append({"name": name, "shape": dims, "type": ttype, "offset": offset, "bytes": n_bytes})
        align = meta.get("general.alignment", 32)
        if not isinstance(align, int) or not 1 <= align <= 1 << 16:
            raise r.fail(f"general.alignment is {align!r}")
        start = -(-f.tell() // align) * align
    for t in tensors:
        t["end"] = start + t["offset"] + t["bytes"]
    return {"version": version, "meta": meta, "tensors": tensors, "data_start": start, "size": size}


def check_shapes(path: Path, header: dict, arch: str) -> None:
    """Hyperparameters within bounds and borne out by the tensors; the vocabulary fits the embedding rows."""
    meta, tensors = header["meta"], {t["name"]: t for t in header["tensors"]}

    def bad(why: str) -> CorpusFtError:
        return CorpusFtError(f"{path}: not a usable GGUF ({why}); {_REFETCH}")

    for key, limit in HPARAM_LIMITS.items():
        value = meta.get(f"{arch}.{key}")
        if value is not None and not (isinstance(value, int) and 0 <= value <= limit):
            raise bad(f"{arch}.{key} = {value}, over the limit of {limit:,}")
    blocks = meta.get(f"{arch}.block_count")
    present = {int(n.split(".")[1]) for n in tensors if n.startswith("blk.") and n.split(".")[1].isdigit()}
    if blocks is not None and present != set(range(blocks)):
        raise bad(f"{arch}.block_count = {blocks}, but the file holds tensors of {len(present)} blocks")
    tokens = meta.get("tokenizer.ggml.tokens")
    embd = tensors.get("token_embd.weight")
    if tokens is not None and embd is not None and len(embd["shape"]) == 2 and int(tokens) > embd["shape"][1]:
        raise bad(
            f"the tokenizer has {int(tokens):,} tokens but token_embd.weight has {embd['shape'][1]:,} rows; "
            "a token past the last row would crash training"
        )


def check_gguf(path: str | os.PathLike) -> dict:
    """Architecture, tensor count and size of a GGUF file; a clear error if it is not a whole, sane Llama GGUF.

    Only the bounded header reader above touches the file before these checks pass.
    """
    path = real_path(path, "GGUF file")
    if not path.is_file():
        raise CorpusFtError(f"{path}: no such file; pass a .gguf file (llama.cpp or Ollama export)")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise CorpusFtError(f"{path}: not a GGUF file (it starts with {magic!r}, not b'GGUF'); pass a .gguf model file")
    try:
        header = read_header(path)
    except OSError as e:
        raise CorpusFtError(f"{path}: cannot read it ({e.strerror})") from None
    arch = header["meta"].get("general.architecture")
    if arch not in LLAMA_FAMILY:
        raise CorpusFtError(
            f"{path}: a {arch or 'unknown'!s} GGUF, not a Llama-family model "
            f"({', '.join(LLAMA_FAMILY)}); corpus-ft imports Llama-architecture GGUF files only"
        )
    check_shapes(path, header, arch)  # before the tensor check: a declared size over a limit says so
    size = header["size"]
    end = max((t["end"] for t in header["tensors"]), default=0)
    if end > size or not header["tensors"]:
        raise CorpusFtError(
            f"{path}: truncated GGUF (tensor data runs to byte {end:,}, the file has {size:,}); download the file again"
        )
    template = header["meta"].get("tokenizer.chat_template")
    if isinstance(template, str):
        from corpus_ft.model.chat import check_template_cost

        check_template_cost(template, f"{path}: tokenizer.chat_template")
    name = header["meta"].get("general.name")
    return {
        "architecture": arch,
        "name": name if isinstance(name, str) else None,
        "tensors": len(header["tensors"]),
        "bytes": size,
    }


def _writable(out_dir: Path) -> None:
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CorpusFtError(
            f"{parent}: cannot create the model directory there ({e.strerror}); "
            "set CORPUS_FT_HOME to a writable directory or pass --out"
        ) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CorpusFtError(f"{parent}: not writable; set CORPUS_FT_HOME to a writable directory or pass --out")


def _is_model(path: Path) -> bool:
    return (path / PROVENANCE).is_file()


def import_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike, *, provenance: dict | None = None) -> Path:
    """Convert a Llama-family GGUF into `out_dir` (fp32 safetensors, tokenizer, provenance), atomically.

    `out_dir` is replaced whole, so it must be new, empty or an earlier import: a folder holding
    anything else (the user's files, the GGUF itself) is refused before any work.
    """
    gguf_path = real_path(gguf_path, "GGUF file")
    out_dir = Path(os.path.realpath(out_dir))
    if contains(out_dir, gguf_path):
        raise CorpusFtError(
            f"{out_dir}: holds the GGUF being imported ({gguf_path}) and would be replaced whole; "
            "import into another directory (--out)"
        )
    check_replaceable(out_dir, "imported model", _is_model)
    info = check_gguf(gguf_path)
    _writable(out_dir)
    offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    except Exception as e:  # transformers raises many kinds on a GGUF it cannot map
        raise CorpusFtError(
            f"{gguf_path}: transformers cannot load this GGUF ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else ''}); check that it is a complete "
            "Llama-family export"
        ) from None
    finally:
        hf_logging.enable_progress_bar()
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the GGUF marker that makes save_pretrained refuse
        del config.quantization_config
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    record = {
        "source": str(gguf_path),
        "gguf_sha256": (provenance or {}).get("gguf_sha256") or sha256_file(gguf_path),
        **info,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float32",
        **(provenance or {}),
    }
    try:
        with owned_dir(out_dir, "imported model", _is_model) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    except OSError as e:
        why = "the disk is full; free space" if e.errno == errno.ENOSPC else f"{e.strerror or e}; fix that"
        raise CorpusFtError(
            f"{out_dir}: cannot write the model ({why}) or choose another directory (CORPUS_FT_HOME or --out)",
            exit_code=1,
        ) from None
    return out_dir
