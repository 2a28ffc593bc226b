"""Pointing a recipe at another repository: its own run directory, no sample-corpus queries, a drafted
starter queries file instead."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.evaluate.queries import draft_queries, load_queries

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recipes" / "demo.yaml"


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    (repo / "README.md").write_text(f"# {name}\n\nThe {name} service settles invoices every night.\n")
    return repo


def _run_dir(*args: str) -> str:
    r = CliRunner().invoke(main, ["recipe-info", str(DEMO), "--field", "run_dir", *args])
    assert r.exit_code == 0, r.output
    return r.output.strip()


def test_another_repository_gets_a_run_directory_named_for_recipe_and_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    own = _run_dir()
    (tmp_path / "x").mkdir()
    a = _run_dir("--repo", str(_repo(tmp_path, "billing")))
    b = _run_dir("--repo", str(_repo(tmp_path / "x", "billing")))
    assert own == str(ROOT / "runs" / "demo") and _run_dir("--repo", "sample_corpus") == own
    assert Path(a).name.startswith("demo--billing-") and Path(b).name.startswith("demo--billing-")
    assert len({own, a, b}) == 3  # same name, other path: still another directory


def test_a_run_directory_of_another_repository_is_never_written_over(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = tmp_path / "run"
    (run / ".stamps").mkdir(parents=True)
    (run / ".stamps" / "repo").write_text(f"{ROOT / 'sample_corpus'}\n")
    other = _repo(tmp_path, "billing")
    r = CliRunner().invoke(main, ["run", str(DEMO), "--repo", str(other), "--run-dir", str(run), "--stage", "ingest"])
    assert r.exit_code == 2 and "holds the run of" in r.output and "overwrite" in r.output
    assert sorted(p.name for p in run.iterdir()) == [".stamps"]


def test_sample_corpus_queries_refuse_another_repository_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    other = _repo(tmp_path, "billing")
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(DEMO), "--repo", str(other), "--run-dir", str(run), "--stage", "ingest"])
    assert r.exit_code == 2, r.output
    assert "queries are about the sample corpus" in r.output and "corpus-ft queries draft" in r.output
    assert not run.exists()
    ok = CliRunner().invoke(
        main,
        [
            "run",
            str(DEMO),
            "evaluate.queries=null",
            "--repo",
            str(other),
            "--run-dir",
            str(run),
            "--stage",
            "ingest",
            "--stage",
            "evaluate",
        ],
    )
    assert "queries are about" not in ok.output and (run / "units.parquet").is_file()  # without them it goes ahead
    assert "run the `train` stage first" in ok.output  # (evaluate then needs a trained model, as usual)


def test_queries_draft_writes_an_editable_file_that_evaluate_reads(copy_run, built_run):
    run = copy_run(built_run)
    r = CliRunner().invoke(main, ["queries", "draft", str(run), "--per-kind", "3"])
    assert r.exit_code == 0, r.output
    path = run / "queries.draft.yaml"
    text = path.read_text()
    assert text.startswith("# Starter domain queries for") and "held-out test split" in text
    queries = load_queries(path)
    assert 3 <= len(queries) <= 9 and all(q["prompt"] and q["reference"] for q in queries)
    assert any(q["keywords"] for q in queries) and all(q["source"] for q in queries)
    assert draft_queries(run, run / "again.yaml", per_kind=3).read_text() == text  # seeded: the same draft
