"""Merge a trained adapter into its base model, so that vLLM, TGI or plain transformers serve it, optionally quantized.

For QLoRA the base is reloaded in bf16, not 4-bit: merging into dequantized NF4 weights would
bake the quantization error into every weight, and servers load bf16 checkpoints anyway.
IA3 merges like LoRA (its scales multiply into the weights); prefix and prompt tuning train virtual
tokens, not weights, so there is nothing to merge: they are served as base + adapter through PEFT.
`--quantize int8|nf4` merges first, then stores the merged weights through bitsandbytes;
`--quantize gguf-f16|gguf-q8_0` merges, then writes one llama.cpp GGUF file (model/gguf_write.py).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from corpus_ft.util import (
    CorpusFtError,
    check_replaceable,
    contains,
    manifest_stage,
    offline_env,
    owned_dir,
    temp_dir_beside,
    write_manifest,
)

DTYPES = ("bf16", "fp16", "fp32")
GGUF = {"gguf-f16": "f16", "gguf-q8_0": "q8_0"}  # `--quantize` form -> GGUF tensor type
QUANTIZE = ("bf16", "fp16", "fp32", "int8", "nf4", *GGUF)  # the forms `export --quantize` writes


def torch_dtype(name: str):
    """The torch dtype of 'bf16', 'fp16' or 'fp32'."""
    import torch

    if name not in DTYPES:
        raise CorpusFtError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def bnb_config(form: str, compute_dtype):
    """bitsandbytes' quantization config for 'int8' (LLM.int8) or 'nf4' (4-bit NormalFloat, double-quantized)."""
    from transformers import BitsAndBytesConfig

    if form == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_merged(run_dir: str | os.PathLike, dtype: str = "bf16"):
    """(model, tokenizer, source dir, manifest inputs): the run's tuned model with its adapter merged in."""
    offline_env()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dt = torch_dtype(dtype)
    model_dir = Path(run_dir) / "model"
    adapter, full = model_dir / "adapter", model_dir / "full"
    if (adapter / "adapter_config.json").is_file():
        from peft import PeftModel

        cfg = json.loads((adapter / "adapter_config.json").read_text())
        base = cfg.get("base_model_name_or_path")
        if cfg.get("peft_type") in ("PREFIX_TUNING", "PROMPT_TUNING"):
            method = {"PREFIX_TUNING": "prefix", "PROMPT_TUNING": "prompt"}[cfg["peft_type"]]
            raise CorpusFtError(
                f"{adapter}: a {method}-tuning adapter trains virtual tokens, not weights, so it cannot be merged "
                f"into the base model; serve the base ({base}) with the adapter through PEFT "
                "(PeftModel.from_pretrained, or vLLM/TGI's adapter support where they offer it), or train with "
                "method lora or ia3 for a mergeable model"
            )
        if not base or (base.startswith(("/", ".")) and not (Path(base) / "config.json").is_file()):
            raise CorpusFtError(
                f"{adapter / 'adapter_config.json'}: base model {base!r} not found; "
                "set base_model_name_or_path to the base model's directory"
            )
        model = AutoModelForCausalLM.from_pretrained(base, dtype=dt)
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        source, inputs = adapter, {"adapter": adapter}
    elif (full / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(full), dtype=dt)
        source, inputs = full, {"model": full}
    else:
        raise CorpusFtError(f"{model_dir}: no trained adapter or model; run `corpus-ft train {run_dir}` first")
    model.config.use_cache = True  # serving wants the KV cache that training switched off
    return model, AutoTokenizer.from_pretrained(str(source)), source, inputs


def _is_export(path: Path) -> bool:
    return manifest_stage(path) == "export"


def check_export_target(run_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """The resolved `--merge` directory, refused when it holds the run, lies in the run's model, or holds
    anything but an earlier export: the merged model replaces the whole directory."""
    out = Path(os.path.realpath(out_dir))
    run = Path(run_dir)
    if contains(out, run) or contains(run / "model", out):
        raise CorpusFtError(
            f"--merge {out_dir}: {'holds the run' if contains(out, run) else 'lies inside the run model'} "
            f"{run}; the merged model replaces the whole directory, so give it a new one (e.g. {run / 'merged'})"
        )
    check_replaceable(out, "merged model", _is_export)
    return out


def export_merged(
    run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, dtype: str = "bf16", quantize: str | None = None
) -> Path:
    """Write base + adapter merged (or the fully fine-tuned model) to `out_dir`, in `dtype` or a `quantize` form."""
    if quantize is not None and quantize not in QUANTIZE:
        raise CorpusFtError(f"--quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if quantize in DTYPES:
        dtype, quantize = quantize, None
    if quantize in GGUF:  # GGUF takes fp32 weights and writes its own F16/Q8_0
        dtype = "fp32"
    out_dir = check_export_target(run_dir, out_dir)
    model, tokenizer, source, inputs = load_merged(run_dir, dtype)
    with owned_dir(out_dir, "merged model", _is_export) as tmp:
        if quantize in GGUF:
            from corpus_ft.model.gguf_write import write_gguf

            name = f"{Path(run_dir).resolve().name}-{GGUF[quantize]}"
            info = write_gguf(model, tokenizer, tmp / f"{name}.gguf", qtype=GGUF[quantize], name=name)
            write_manifest(
                tmp,
                "export",
                inputs,
                {"dtype": dtype, "quantize": quantize, "source": str(source), "gguf": {**info, "path": f"{name}.gguf"}},
            )
            return Path(out_dir)
        if quantize is None:
            model.save_pretrained(tmp)
        else:
            from transformers import AutoModelForCausalLM

            merged = temp_dir_beside(out_dir)  # named with this process's token: cleaned if it is killed
            try:
                model.save_pretrained(merged)
                del model
                q = AutoModelForCausalLM.from_pretrained(
                    merged, quantization_config=bnb_config(quantize, torch_dtype(dtype)), dtype=torch_dtype(dtype)
                )
                q.save_pretrained(tmp)
            finally:
                shutil.rmtree(merged, ignore_errors=True)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, "export", inputs, {"dtype": dtype, "quantize": quantize, "source": str(source)})
    return Path(out_dir)
