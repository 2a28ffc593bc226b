"""GGUF export: llama.cpp's layout written with the gguf package, proven by reading the file back
through the project's own GGUF import and comparing logits and greedy text with the source model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_fixtures import make_run

from corpus_ft.cli import main
from corpus_ft.train.config import TrainConfig
from corpus_ft.util import CorpusFtError

PROMPT = [{"role": "user", "content": "What is a Python decorator? Answer in one sentence."}]


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory) -> Path:
    """LoRA on the tiny Llama, a few steps: an adapter to merge and export."""
    from corpus_ft.train.trainer import train

    run = make_run(tmp_path_factory.mktemp("gguf") / "run", n=16)
    train(
        run,
        TrainConfig(
            model="tiny",
            method="lora",
            seq_len=128,
            micro_batch=4,
            grad_accum=1,
            learning_rate=3e-3,
            max_steps=3,
            eval_steps=3,
            save_steps=3,
            mix={"qa": 1.0},
        ),
        progress=False,
    )
    return run


def _fields(path: Path) -> tuple[dict, dict]:
    """(metadata key -> value, tensor name -> ggml type name) of a GGUF file."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    meta = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    return meta, {t.name: t.tensor_type.name for t in reader.tensors}


def _logits(model, ids):
    import torch

    with torch.no_grad():
        return model(ids).logits


@pytest.mark.slow
def test_smollm2_round_trip_f16_and_q8_0(smollm2, tmp_path):
    """SmolLM2 written as F16 and Q8_0, imported back: llama.cpp's metadata, same logits, same greedy answer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.model.gguf import import_gguf
    from corpus_ft.model.gguf_write import write_gguf

    model = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(smollm2)
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)[
        "input_ids"
    ]
    want_logits = _logits(model, ids)
    want_text = tok.decode(model.generate(ids, max_new_tokens=12, do_sample=False)[0, ids.shape[1] :])
    for qtype in ("f16", "q8_0"):
        info = write_gguf(model, tok, tmp_path / f"smol-{qtype}.gguf", qtype=qtype)
        meta, tensors = _fields(Path(info["path"]))
        assert meta["general.architecture"] == "llama" and meta["llama.block_count"] == 30
        assert meta["llama.attention.head_count"] == 9 and meta["llama.attention.head_count_kv"] == 3
        assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "smollm"
        assert len(meta["tokenizer.ggml.tokens"]) == 49152 and len(meta["tokenizer.ggml.merges"]) > 48_000
        assert meta["tokenizer.ggml.eos_token_id"] == tok.eos_token_id == 2
        assert (meta["tokenizer.ggml.bos_token_id"], meta["tokenizer.ggml.padding_token_id"]) == (1, 2)
        assert meta["tokenizer.ggml.unknown_token_id"] == tok.unk_token_id == 0
        assert meta["tokenizer.ggml.add_bos_token"] is False  # the chat template writes <|im_start|> itself
        merges = json.loads((smollm2 / "tokenizer.json").read_text())["model"]["merges"]
        assert len(meta["tokenizer.ggml.merges"]) == len(merges)
        assert meta["tokenizer.chat_template"] == tok.chat_template
        assert "output.weight" not in tensors  # tied embeddings: llama.cpp reuses token_embd
        assert tensors["blk.0.attn_norm.weight"] == "F32"
        assert tensors["blk.0.attn_q.weight"] == {"f16": "F16", "q8_0": "Q8_0"}[qtype]

        back = import_gguf(info["path"], tmp_path / f"imported-{qtype}")
        got = AutoModelForCausalLM.from_pretrained(back, dtype=torch.float32).eval()
        got_tok = AutoTokenizer.from_pretrained(back)
        got_ids = got_tok.apply_chat_template(
            PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        assert torch.equal(got_ids, ids)  # the tokenizer and chat template survive the trip
        logits = _logits(got, ids)
        diff = (logits - want_logits).abs()
        agree = (logits.argmax(-1) == want_logits.argmax(-1)).float().mean().item()
        if qtype == "f16":  # fp16 rounding only (seen: max 0.04 on logits of magnitude ~20)
            assert diff.max() < 0.2 and agree == 1.0
        else:  # 8-bit blocks: small errors, the same choices (a wrong Q/K permutation gives garbage here)
            assert diff.mean() < 0.3 and agree >= 0.9
        text = got_tok.decode(got.generate(ids, max_new_tokens=12, do_sample=False)[0, ids.shape[1] :])
        assert text == want_text


@pytest.mark.slow
def test_export_cli_writes_gguf_of_the_merged_model(tuned_run, tmp_path):
    """`export --quantize gguf-q8_0`: one GGUF file + manifest; read back, it computes what the merged model does."""
    import torch
    from transformers import AutoModelForCausalLM

    from corpus_ft.model.gguf import import_gguf
    from corpus_ft.train.export import load_merged

    out = tmp_path / "served"
    r = CliRunner().invoke(main, ["export", str(tuned_run), "--merge", str(out), "--quantize", "gguf-q8_0"])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [".corpus-ft-files", "manifest.json", "run-q8_0.gguf"]  # the first lists what export wrote
    assert (out / ".corpus-ft-files").read_text().split() == ["manifest.json", "run-q8_0.gguf"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["quantize"] == "gguf-q8_0" and manifest["config"]["gguf"]["path"] == "run-q8_0.gguf"
    meta, tensors = _fields(out / "run-q8_0.gguf")
    assert meta["general.file_type"] == 7 and tensors["token_embd.weight"] == "Q8_0"

    merged, tok, _, _ = load_merged(tuned_run, "fp32")
    back = AutoModelForCausalLM.from_pretrained(
        import_gguf(out / "run-q8_0.gguf", tmp_path / "back"), dtype=torch.float32
    )
    ids = tok("How do I restart the billing service?", return_tensors="pt")["input_ids"]
    want, got = _logits(merged.eval(), ids), _logits(back.eval(), ids)
    assert (got - want).abs().mean() < 0.05 and (got.argmax(-1) == want.argmax(-1)).float().mean() >= 0.9


def test_failed_gguf_write_leaves_no_file(tuned_run, tmp_path):
    """A tensor llama.cpp has no name for stops the write with the tensor's name; nothing half-written stays."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.model.gguf_write import write_gguf

    model = AutoModelForCausalLM.from_pretrained(tuned_run / "tiny-model", dtype=torch.float32)
    model.register_parameter("stray_scale", torch.nn.Parameter(torch.ones(4)))
    with pytest.raises(CorpusFtError, match="no llama.cpp name for tensor 'stray_scale'"):
        write_gguf(model, AutoTokenizer.from_pretrained(tuned_run / "tiny-model"), tmp_path / "m.gguf")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CorpusFtError, match="GGUF type must be one of f16, q8_0"):
        write_gguf(model, None, tmp_path / "m.gguf", qtype="q4_k")


def test_export_refuses_unknown_quantize_form(tuned_run, tmp_path):
    r = CliRunner().invoke(main, ["export", str(tuned_run), "--merge", str(tmp_path / "x"), "--quantize", "gguf-q4"])
    assert r.exit_code == 2 and "gguf-q8_0" in r.output and not (tmp_path / "x").exists()
