"""Write a Llama-family transformers model as a llama.cpp GGUF file (F16 or Q8_0), with its tokenizer.

The layout follows llama.cpp's convert_hf_to_gguf.py for LlamaForCausalLM: `llama.*` hyperparameters,
a byte-level BPE vocabulary (`tokenizer.ggml.model = gpt2`, tokens, token types, merges, special ids,
chat template), llama.cpp tensor names (gguf's own name map) and the Q/K row permutation llama.cpp's
rotary embedding expects. Norms stay F32, as llama.cpp keeps them. The file is written beside its
destination and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from hashlib import sha256
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_file

log = logging.getLogger(__name__)

QTYPES = ("f16", "q8_0")  # what `export --quantize gguf-…` writes

# llama.cpp names a BPE pre-tokenizer by hashing the token ids of this text (convert_hf_to_gguf.py,
# get_vocab_base_pre); the file's `tokenizer.ggml.pre` tells llama.cpp which splitting regex to use.
CHKTXT = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\U0001f680 (normal) \U0001f636\u200d\U0001f32b\ufe0f "
    "(multiple emojis concatenated) \u2705 \U0001f999\U0001f999 3 33 333 3333 33333 333333 3333333 33333333 "
    "3.3 3..3 3...3 \u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2\u17b6\u1785\U0001f601 "
    "?\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e ------======= \u043d\u0435\u0449\u043e \u043d\u0430 "
    "\u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438 ''''''```````\"\"\"\"......!!!!!!?????? I've been "
    "'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
)
PRE_TOKENIZERS = {  # the hashes llama.cpp's table gives for these tokenizers
    "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",  # SmolLM / SmolLM2
    "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",  # Llama 3
}


def permute_qk(w, n_head: int):
    """Reorder Q/K rows from transformers' rotate-half layout to llama.cpp's interleaved rotary layout."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def pre_tokenizer(tokenizer) -> str:
    """llama.cpp's name for this tokenizer's pre-tokenizer, or 'default' (llama.cpp's generic split) when unknown."""
    chkhsh = sha256(str(tokenizer.encode(CHKTXT, add_special_tokens=False)).encode()).hexdigest()
    name = PRE_TOKENIZERS.get(chkhsh)
    if name is None:
        log.warning(
            "GGUF export: pre-tokenizer %s is not one llama.cpp names here; writing 'default' "
            "(llama.cpp then splits text with its generic GPT-2 rule)",
            chkhsh[:12],
        )
    return name or "default"


def _vocab(tokenizer) -> tuple[list[str], list[int]]:
    """(tokens by id, llama.cpp token types) of a byte-level BPE tokenizer."""
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model", {})
    if model.get("type") != "BPE":
        raise CorpusFtError(
            f"GGUF export: the tokenizer is {model.get('type')!r}, not byte-level BPE; corpus-ft "
            "writes GGUF for BPE (GPT-2 style) tokenizers only; use llama.cpp's "
            "convert_hf_to_gguf.py on the exported directory (`export --merge DIR`)"
        )
    vocab = dict(model["vocab"])
    added = {t["id"]: t for t in spec.get("added_tokens", [])}
    for i, t in added.items():
        vocab[t["content"]] = i
    size = max(len(tokenizer), max(vocab.values()) + 1)
    by_id = {i: s for s, i in vocab.items()}
    tokens, types = [], []
    for i in range(size):
        if i not in by_id:  # holes in the id space: llama.cpp pads them the same way
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(by_id[i])
            t = added.get(i)
            types.append(
                gguf.TokenType.NORMAL
                if t is None
                else gguf.TokenType.CONTROL
                if t.get("special")
                else gguf.TokenType.USER_DEFINED
            )
    return tokens, [int(t) for t in types]


def _special_vocab(tokenizer, n_vocab: int):
    """gguf's SpecialVocab over the tokenizer's own saved files: merges, special token ids, the
    add-BOS/EOS flags and the chat template, read the way llama.cpp's converter reads them."""
    import gguf

    with tempfile.TemporaryDirectory() as d:
        tokenizer.save_pretrained(d)
        special = gguf.SpecialVocab(d, load_merges=True, n_vocab=n_vocab)
    if not special.merges:
        raise CorpusFtError("GGUF export: the tokenizer has no BPE merges; llama.cpp cannot tokenize without them")
    return special


def _tensor(name: str, data, qtype: str):
    """(data, raw ggml type or None) for one tensor: norms and vectors in F32, matrices in F16 or Q8_0."""
    import gguf
    import numpy as np

    if data.ndim == 1:
        return data.astype(np.float32), None
    if qtype == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
        return gguf.quants.quantize(
            data.astype(np.float32), gguf.GGMLQuantizationType.Q8_0
        ), gguf.GGMLQuantizationType.Q8_0
    return data.astype(np.float16), None


def write_gguf(model, tokenizer, out_path: str | os.PathLike, *, qtype: str = "f16", name: str | None = None) -> dict:
    """Write `model` (a LlamaForCausalLM) and its tokenizer to `out_path` as GGUF; returns what was written."""
    import gguf
    import torch

    if qtype not in QTYPES:
        raise CorpusFtError(f"GGUF type must be one of {', '.join(QTYPES)}, got {qtype!r}")
    cfg = model.config
    if cfg.model_type not in ("llama", "mistral"):
        raise CorpusFtError(f"GGUF export: a {cfg.model_type} model; corpus-ft writes Llama-architecture GGUF only")
    n_layers, n_head, n_kv = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    rope = getattr(cfg, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise CorpusFtError(
            f"GGUF export: rope scaling {rope.get('rope_type')!r} is not written by corpus-ft; "
            "use llama.cpp's convert_hf_to_gguf.py on the exported directory"
        )
    tokens, types = _vocab(tokenizer)
    special = _special_vocab(tokenizer, len(tokens))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    with atomic_file(out_path) as tmp:
        w = gguf.GGUFWriter(str(tmp), "llama")
        w.add_name(name or out_path.stem)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_block_count(n_layers)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_kv)
        w.add_rope_freq_base(float(rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))))
        w.add_rope_dimension_count(head_dim)
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_vocab_size(len(tokens))
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if qtype == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre := pre_tokenizer(tokenizer))
        w.add_token_list(tokens)
        w.add_token_types(types)
        special.add_to_gguf(w, quiet=True)
        if "bos" not in special.add_special_token:
            # llama.cpp adds a BOS to BPE vocabularies unless told not to; a byte-level BPE chat model
            # that does not say (its chat template writes its own start token) gets none
            w.add_add_bos_token(False)
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
        tied = bool(getattr(cfg, "tie_word_embeddings", False))
        count = 0
        for key, t in model.state_dict().items():
            if tied and key == "lm_head.weight":  # llama.cpp reuses token_embd for the output when none is stored
                continue
            gname = names.get_name(key, try_suffixes=(".weight", ".bias"))
            if gname is None:
                raise CorpusFtError(f"GGUF export: no llama.cpp name for tensor {key!r}")
            data = t.detach().to(torch.float32).cpu().numpy()
            if key.endswith("q_proj.weight"):
                data = permute_qk(data, n_head)
            elif key.endswith("k_proj.weight"):
                data = permute_qk(data, n_kv)
            data, raw = _tensor(gname, data, qtype)
            w.add_tensor(gname, data, raw_dtype=raw)
            count += 1
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return {
        "path": str(out_path),
        "type": qtype,
        "tensors": count,
        "bytes": out_path.stat().st_size,
        "vocab": len(tokens),
        "pre_tokenizer": pre,
    }
