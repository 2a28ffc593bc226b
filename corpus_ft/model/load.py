"""Find and load a model: a named model (fetched once), a local directory, a GGUF file or a cached hub id.

Every stage (the `hf` generator, `serve`, `train`, `evaluate`) resolves its model reference here
and loads weights and tokenizer through these functions, so a reference means the same thing,
and fails with the same message, everywhere.
"""

from __future__ import annotations

import os
import re
from typing import Any

from corpus_ft.util import CorpusFtError, offline_env, real_path

HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def resolve(ref: str | os.PathLike) -> str:
    """A loadable reference: a named model's directory, a checked local directory, an imported GGUF or a cached hub id."""
    from corpus_ft.model.registry import import_cached
    from corpus_ft.model.registry import resolve as named

    ref = str(ref)
    if (path := named(ref)) is not None:
        return path
    local = real_path(ref, "model")
    if local.is_file() and local.suffix == ".gguf":  # imported once into the model cache (by content hash)
        return str(import_cached(local))
    if local.exists():
        if not (local.is_dir() and (local / "config.json").is_file()):
            raise CorpusFtError(
                f"{local}: no config.json, so it is not a `save_pretrained` model directory; "
                "pass the directory that holds config.json, the weights and the tokenizer "
                "(or a .gguf file, or smollm2-135m-instruct)"
            )
        return str(local.resolve())
    if ref.startswith(("/", ".", "~")):
        raise CorpusFtError(
            f"{ref}: no such model directory; pass a local Llama directory, "
            "`smollm2-135m-instruct` (fetched by `corpus-ft model get`) or a GGUF file"
        )
    if not HUB_ID.match(ref):
        raise CorpusFtError(
            f"model {ref!r}: no such directory, not a named model (smollm2-135m-instruct), "
            "and not a hub id like 'meta-llama/Llama-3.2-1B'"
        )
    offline_env()
    from huggingface_hub import try_to_load_from_cache

    if os.environ.get("HF_HUB_OFFLINE") == "1" and not isinstance(try_to_load_from_cache(ref, "config.json"), str):
        raise CorpusFtError(
            f"model {ref!r}: not a local directory and not in the Hugging Face cache (offline); "
            f"download it where there is network (`hf download {ref}`) or pass its directory"
        )
    return ref


def load_causal_lm(ref: str, *, dtype: Any, **kwargs: Any):
    """`AutoModelForCausalLM.from_pretrained` with one clear error for a reference that does not load."""
    offline_env()
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(ref, dtype=dtype, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CorpusFtError(
            f"model {ref!r} does not load as a causal LM ({first}); pass a local Llama-family "
            "directory (config.json + weights + tokenizer), a .gguf file or a cached hub id"
        ) from None


def load_tokenizer(ref: str):
    """The model's tokenizer with a pad token (its eos when it has none)."""
    offline_env()
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(ref)
    except (OSError, ValueError, KeyError) as e:
        raise CorpusFtError(
            f"model {ref!r}: no usable tokenizer ({str(e).strip()[:200]}); "
            "the model directory must hold the tokenizer files too"
        ) from None
    if getattr(tok, "chat_template", None) and isinstance(tok.chat_template, str):
        from corpus_ft.model.chat import check_template_cost

        check_template_cost(tok.chat_template, f"model {ref!r}")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok
