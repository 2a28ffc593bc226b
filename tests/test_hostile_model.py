"""Issue 24, model-file rows: a model file is untrusted input, and importing or exporting one never
replaces a folder that holds anything corpus-ft did not write."""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.util import CorpusFtError

CLI = [sys.executable, "-m", "corpus_ft.cli"]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> Path:
    """A real, small Llama GGUF: the tiny model (built-in text) written by corpus-ft's own GGUF writer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.model.gguf_write import write_gguf
    from corpus_ft.model.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("tinygguf")
    m = build_tiny_model(d / "tiny", vocab_size=512, hidden_size=64, num_layers=2)
    model = AutoModelForCausalLM.from_pretrained(m, dtype=torch.float32)
    write_gguf(model, AutoTokenizer.from_pretrained(m), d / "tiny.gguf", qtype="f16")
    return d / "tiny.gguf"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A model cache of its own, holding one earlier conversion."""
    monkeypatch.setenv("CORPUS_FT_HOME", str(tmp_path / "home"))
    other = tmp_path / "home" / "models" / "other-model"
    other.mkdir(parents=True)
    (other / "config.json").write_text("{}")
    (other / "corpus_ft_model.json").write_text("{}")
    return tmp_path / "home" / "models"


# --- M6/M7: import never replaces a folder it did not write ------------------------------------------


def test_m6_a_gguf_named_dot_dot_does_not_replace_the_model_cache(tiny_gguf, home, tmp_path):
    """M6: `model import ..gguf` replaced the cache folder itself: every cached model was deleted."""
    dots = tmp_path / "src" / "..gguf"
    dots.parent.mkdir()
    shutil.copy(tiny_gguf, dots)
    r = cli("model", "import", dots)
    assert r.exit_code == 0, r.output
    out = Path(r.stdout.strip())
    assert out.parent == home and out.name.startswith("model-") and (out / "config.json").is_file()
    assert (home / "other-model" / "config.json").is_file(), "the other cached model was deleted"
    assert not [p for p in home.iterdir() if ".tmp" in p.name]


def test_m7_import_out_refuses_a_folder_with_the_users_files(tiny_gguf, tmp_path):
    """M7: `model import X.gguf --out DIR` replaced DIR wholesale, the user's files and the .gguf with it."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes\n")
    shutil.copy(tiny_gguf, mine / "x.gguf")
    r = cli("model", "import", mine / "x.gguf", "--out", mine)
    assert r.exit_code == 2 and "holds the GGUF being imported" in r.output, r.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("my notes\n")
    r = cli("model", "import", mine / "x.gguf", "--out", other)
    assert r.exit_code == 2 and "notes.txt" in r.output and "did not write" in r.output, r.output
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "x.gguf"]
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    r = cli("model", "import", mine / "x.gguf", "--out", tmp_path / "m")  # a new folder: fine, and again
    assert r.exit_code == 0, r.output
    r = cli("model", "import", mine / "x.gguf", "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "mine", "other"]


# --- M8/M9: the cache is keyed by content, and the pinned model by its sha256 ---------------------------


def test_m9_two_files_with_one_name_get_their_own_conversions(tiny_gguf, home, tmp_path):
    """M9: `--model /b/model.gguf` after `/a/model.gguf` silently trained on a's weights (cache keyed by stem)."""
    from corpus_ft.model.load import resolve

    a, b = tmp_path / "a" / "model.gguf", tmp_path / "b" / "model.gguf"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(tiny_gguf, p)
    with open(b, "r+b") as f:  # b: other weights (the last f16 value of the last tensor changed)
        f.seek(-2, 2)
        f.write(b"\x00\x3c")
    ra, rb = resolve(a), resolve(b)
    assert ra != rb
    assert json.loads((Path(rb) / "corpus_ft_model.json").read_text())["source"] == str(b)
    assert (Path(ra) / "model.safetensors").read_bytes() != (Path(rb) / "model.safetensors").read_bytes()
    assert resolve(a) == ra  # reused, not converted again


def test_m8_a_file_named_like_the_pinned_model_cannot_take_its_place(tiny_gguf, home, tmp_path):
    """M8: importing SmolLM2-135M-Instruct.gguf overwrote the pinned entry, and `model get` returned it."""
    from corpus_ft.model.registry import MODELS, is_ready

    fake = tmp_path / "SmolLM2-135M-Instruct.gguf"
    shutil.copy(tiny_gguf, fake)
    r = cli("model", "import", fake)
    assert r.exit_code == 0, r.output
    assert Path(r.stdout.strip()).name != "smollm2-135m-instruct"
    pinned = home / "smollm2-135m-instruct"
    shutil.copytree(Path(r.stdout.strip()), pinned)  # an entry that took the name before this fix
    assert not is_ready(pinned, MODELS["smollm2-135m-instruct"].gguf_sha256)


# --- M11: a killed import leaves nothing for ever -------------------------------------------------------


def test_m11_a_killed_import_leaves_no_temp_in_the_cache(tiny_gguf, home, tmp_path):
    """M11: kill -9 during import left `.copy.XXXX.tmp/` in the cache for ever."""
    src = tmp_path / "copy.gguf"
    shutil.copy(tiny_gguf, src)
    env = {**os.environ, "CORPUS_FT_HOME": str(home.parent)}

    def temps() -> list[Path]:
        return [p for p in home.iterdir() if p.name.endswith(".tmp")]

    earlier = set(home.iterdir())
    for _attempt in range(5):  # the tiny import can finish between two polls on a busy machine: try again
        proc = subprocess.Popen(
            CLI + ["model", "import", str(src)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while not temps() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.kill()
        proc.wait(10)
        if temps():
            break
        assert proc.returncode == 0, "the import failed before it wrote its temp directory"
        for p in set(home.iterdir()) - earlier:  # it finished first: take back what it wrote, try again
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert temps(), "no temp directory seen in five imports"
    other = tmp_path / "other.gguf"  # the next import (of another file) cleans the dead one's temps
    shutil.copy(tiny_gguf, other)
    r = cli("model", "import", other)
    assert r.exit_code == 0, r.output
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]


# --- M10: a symlink loop -------------------------------------------------------------------------------


def test_m10_a_symlink_loop_is_a_clear_error(tmp_path):
    """M10: a symlink loop gave a RuntimeError traceback."""
    os.symlink(tmp_path / "b.gguf", tmp_path / "a.gguf")
    os.symlink(tmp_path / "a.gguf", tmp_path / "b.gguf")
    r = cli("model", "import", tmp_path / "a.gguf", "--out", tmp_path / "m")
    assert r.exit_code == 2 and "symlink loop" in r.output, r.output
    from corpus_ft.model.load import resolve  # what `train --model`, `serve` and the hf generator call

    with pytest.raises(CorpusFtError, match="symlink loop"):
        resolve(str(tmp_path / "a.gguf"))


# --- M1/M3: every count, length and size is bounded before anything is allocated ------------------------


def _gguf(kv: list[tuple[str, int, bytes]], tensors: bytes = b"", n_tensors: int = 0) -> bytes:
    """A raw GGUF v3 header: (key, value type, encoded value) entries, then tensor infos as given."""
    out = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kv))
    for key, vtype, value in kv:
        out += struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I", vtype) + value
    return out + tensors


def _string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def _import_limited(path: Path, out: Path, memory: int = 1 << 30, timeout: float = 60) -> tuple[int, str, float]:
    """`model import` in a child process under a memory limit: (exit code, output, seconds)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    t0 = time.monotonic()
    try:
        p = subprocess.run(
            CLI + ["model", "import", str(path), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        return -1, "timed out", timeout
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def test_m1_a_tiny_file_declaring_a_huge_array_is_refused_at_once(tmp_path):
    """M1: a 49-byte GGUF declaring a 2^62-element array made import allocate without bound, then SIGSEGV."""
    path = tmp_path / "bomb.gguf"
    path.write_bytes(_gguf([("a.b", 9, struct.pack("<IQ", 4, 1 << 62))]))
    assert path.stat().st_size < 64
    code, out, seconds = _import_limited(path, tmp_path / "m")
    assert code == 2 and "over the limit" in out and "Traceback" not in out, out
    assert seconds < 30 and not (tmp_path / "m").exists()


def _llama_kv(**extra) -> list[tuple[str, int, bytes]]:
    kv = [("general.architecture", 8, _string(b"llama"))]
    for key, value in extra.items():
        kv.append((f"llama.{key}", 4, struct.pack("<I", value)))
    return kv


def _tensor(name: str, dims: tuple[int, ...], offset: int = 0) -> bytes:
    return (
        _string(name.encode())
        + struct.pack("<I", len(dims))
        + struct.pack(f"<{len(dims)}Q", *dims)
        + struct.pack("<IQ", 0, offset)
    )


@pytest.mark.parametrize(
    "case",
    ["block_count", "long_string", "big_array"],
)
def test_m3_declared_sizes_beyond_the_limits_are_refused_cheaply(tmp_path, case):
    """M3: block_count=2^20 in 57 KB took >120 s / >4.2 GB; a 64 MB description 3.2 GB; 5.1 M elements 70 s."""
    body = np.zeros(8 * 4, dtype=np.float32).tobytes()
    tensor = _tensor("blk.0.attn_norm.weight", (8,))
    if case == "block_count":
        kv = _llama_kv(block_count=1 << 20)
    elif case == "long_string":
        kv = [*_llama_kv(block_count=1), ("general.description", 8, _string(b"x" * (3 << 20)))]
    else:
        kv = [
            *_llama_kv(block_count=1),
            ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 2_000_000) + bytes(8_000_000)),
        ]
    head = _gguf(kv, tensor, n_tensors=1)
    path = tmp_path / "x.gguf"
    path.write_bytes(head + bytes(-len(head) % 32) + body)
    code, out, seconds = _import_limited(path, tmp_path / "m")
    assert code == 2 and ("over the limit" in out), out
    assert seconds < 30


def test_m3_a_block_count_the_tensors_do_not_bear_out_is_refused(tmp_path):
    from corpus_ft.model.gguf import check_gguf

    tensor = _tensor("blk.0.attn_norm.weight", (8,))
    head = _gguf(_llama_kv(block_count=4), tensor, n_tensors=1)
    path = tmp_path / "x.gguf"
    path.write_bytes(head + bytes(-len(head) % 32) + bytes(32))
    with pytest.raises(CorpusFtError, match=r"block_count = 4, but the file holds tensors of 1 blocks"):
        check_gguf(path)


# --- M4: tokenizer and embedding shapes --------------------------------------------------------------


def test_m4_more_tokens_than_embedding_rows_is_refused_at_import(tmp_path):
    """M4: a tokenizer of 500 tokens over 300 embedding rows imported fine, then train died with IndexError."""
    from gguf import GGUFWriter

    path = tmp_path / "m4.gguf"
    w = GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(500)])
    w.add_tensor("token_embd.weight", np.zeros((300, 8), dtype=np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = cli("model", "import", path, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "500 tokens" in r.output and "300 rows" in r.output, r.output
    assert not (tmp_path / "m").exists()


# --- M2: a chat template's rendering cost is bounded; its code stays sandboxed -----------------------------

BOMB = "{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}"


def test_m2_a_loop_bomb_template_is_refused_at_import(tmp_path):
    """M2: nested range(99999) loops in the chat template were imported; `train` then grew to 8 GB in 28 s."""
    from gguf import GGUFWriter

    path = tmp_path / "m2.gguf"
    w = GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_chat_template(BOMB)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    t0 = time.monotonic()
    r = cli("model", "import", path, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "chat template does not render" in r.output, r.output
    assert time.monotonic() - t0 < 40


def test_m2_a_model_directory_with_a_loop_bomb_template_is_refused_when_loaded(tiny_gguf, tmp_path):
    from corpus_ft.model.load import load_tokenizer

    model = tiny_gguf.parent / "tiny"
    bad = tmp_path / "bad"
    shutil.copytree(model, bad)
    (bad / "chat_template.jinja").write_text(BOMB)
    with pytest.raises(CorpusFtError, match="chat template does not render"):
        load_tokenizer(str(bad))
    assert load_tokenizer(str(model)).chat_template  # an ordinary template passes


def test_m2_template_code_stays_in_the_sandbox(tiny_gguf, tmp_path):
    """Template code execution was already prevented by jinja2's sandbox: this keeps it so."""
    from transformers import AutoTokenizer

    marker = tmp_path / "pwned"
    evil = "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    tok = AutoTokenizer.from_pretrained(tiny_gguf.parent / "tiny")
    with pytest.raises(Exception, match="unsafe|not safely|access"):
        tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, chat_template=evil)
    assert not marker.exists()
