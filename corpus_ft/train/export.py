"""Merge a trained adapter into its base model, so that vLLM, TGI or plain transformers serve it.

For QLoRA the base is reloaded in bf16, not 4-bit: merging into dequantized NF4 weights would
bake the quantization error into every weight, and servers load bf16 checkpoints anyway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_dir, offline_env, write_manifest

DTYPES = ("bf16", "fp16", "fp32")


def export_merged(run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, dtype: str = "bf16") -> Path:
    """Write base + adapter merged (or the fully fine-tuned model) to `out_dir` as one `save_pretrained` model."""
    offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise CorpusFtError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    model_dir = Path(run_dir) / "model"
    adapter, full = model_dir / "adapter", model_dir / "full"
    if (adapter / "adapter_config.json").is_file():
        from peft import PeftModel

        base = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base or (base.startswith(("/", ".")) and not (Path(base) / "config.json").is_file()):
            raise CorpusFtError(f"{adapter / 'adapter_config.json'}: base model {base!r} not found; "
                                "set base_model_name_or_path to the base model's directory")
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        source, inputs = adapter, {"adapter": adapter}
    elif (full / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(full), dtype=torch_dtype)
        source, inputs = full, {"model": full}
    else:
        raise CorpusFtError(f"{model_dir}: no trained adapter or model; run `corpus-ft train {run_dir}` first")
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model.config.use_cache = True  # serving wants the KV cache that training switched off
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, "export", inputs, {"dtype": dtype, "source": str(source)})
    return Path(out_dir)
