"""Issue 14 rows 7 and 14: a hostile or careless recipe or queries file fails with file:line: key
and exit 2 before any stage writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.evaluate.queries import load_queries
from corpus_ft.util import CorpusFtError

ROOT = Path(__file__).resolve().parent.parent
HEAD = "name: x\nrepo: {repo}\nrun_dir: {run}\n"
LAUGHS = "".join(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
BAD = {
    # name: (text after the head, line, pieces of the message)
    "billion_laughs": ("l0: &l0 [lol]\n" + LAUGHS, 5, ["YAML alias *l0 is not allowed"]),
    "duplicate_key": ("train:\n  lora_r: 8\n  lora_r: 64\n", 6, ["train.lora_r: duplicate key (first at line 5)"]),
    "duplicate_top_key": ("name: y\n", 4, ["name: duplicate key (first at line 1)"]),
    "inf_learning_rate": ("train:\n  learning_rate: .inf\n", 5, ["train.learning_rate: .inf is not a usable number"]),
    "nan": ("train:\n  lora_dropout: .nan\n", 5, ["train.lora_dropout: .nan is not a usable number"]),
    "huge_int": ("train:\n  lora_r: 100000000000000000000000000000000\n", 5, ["train.lora_r:", "not a usable number"]),
    "absurd_rank": ("train:\n  lora_r: 100000000\n", 5, ["train.lora_r: Input should be less than or equal to 4096"]),
    "negative_steps": (
        "train:\n  max_steps: -5\n",
        5,
        ["train.max_steps: Input should be greater than or equal to -1"],
    ),
    "tiny_hidden": (
        "tiny:\n  hidden_size: 100000000\n",
        5,
        ["tiny.hidden_size: Input should be less than or equal to 4096"],
    ),
    "tiny_heads": (
        "tiny:\n  hidden_size: 100\n  heads: 3\n",
        4,
        ["tiny:", "hidden_size (100) must be divisible by heads (3)"],
    ),
    "absurd_chunk": (
        "datasets:\n  chunk_size: 1000000000\n",
        5,
        ["datasets.chunk_size: Input should be less than or equal to"],
    ),
    "absurd_file_bytes": ("ingest:\n  max_file_bytes: 10000000000000000\n", 5, ["ingest.max_file_bytes:"]),
    "absurd_new_tokens": ("evaluate:\n  max_new_tokens: 10000000\n", 5, ["evaluate.max_new_tokens:"]),
    "negative_seed": ("datasets:\n  seed: -1\n", 5, ["datasets.seed: Input should be greater than or equal to 0"]),
}


def _invoke(path: Path):
    return CliRunner().invoke(main, ["run", str(path)])


@pytest.mark.parametrize("case", sorted(BAD))
def test_hostile_recipe_exits_2_with_file_line_key_and_writes_nothing(case: str, tmp_path: Path):
    body, line, pieces = BAD[case]
    run = tmp_path / "run"
    path = tmp_path / f"{case}.yaml"
    path.write_text(HEAD.format(repo=ROOT / "sample_corpus", run=run) + body)
    result = _invoke(path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {path}:{line}: "), result.stderr
    for piece in pieces:
        assert piece in result.stderr, (piece, result.stderr)
    assert "Traceback" not in result.output
    assert not run.exists() and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_non_utf8_recipe_names_the_line(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        HEAD.format(repo=ROOT / "sample_corpus", run=tmp_path / "run").encode()
        + "description: caf\u00e9 recipe\n".encode("latin-1")
    )
    result = _invoke(path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {path}:4: the recipe is not UTF-8 (byte 0xe9"), result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "name,data,piece",
    [
        ("q.yaml", "- query: caf\u00e9?\n".encode("latin-1"), ":1: the queries file is not UTF-8"),
        ("q.jsonl", b'{"query": "ok"}\n{"query": "caf\xe9"}\n', ":2: not UTF-8"),
        ("q.yaml", b"- &a {query: x}\n- *a\n", ":2: YAML alias *a is not allowed"),
        ("q.jsonl", b"[" * 100_000 + b"\n", ":1: not valid JSON"),
    ],
)
def test_hostile_queries_file_is_a_clean_error(tmp_path: Path, name: str, data: bytes, piece: str):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusFtError) as e:
        load_queries(path)
    assert piece in str(e.value), str(e.value)
