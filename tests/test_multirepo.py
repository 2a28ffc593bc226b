"""Several repositories in one run: `corpus-ft ingest A B C` and a recipe's `repos:` list.

Two small trees written here (both with a README.md and a docs/overview.md, so their paths collide)
plus sample_corpus/ go through the real ingest, the real dataset build (heuristic generator) and,
for the recipe, every stage on the tiny Llama. Bad input exits 2 before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.datasets import build_dataset
from corpus_ft.recipe import load_recipe
from corpus_ft.run import STAGES, run_recipe
from tests.make_fixtures import ROOT, tiny_recipe, write_repo

SAMPLE = ROOT / "sample_corpus"
KINDS = ("paragraphs", "qa", "code_summary")


def write_tree(path: Path, product: str, topics: list[str]) -> Path:
    """A team's repository: a README, one page per topic (docs/overview.md is in both trees) and a module."""
    (path / "docs").mkdir(parents=True)
    (path / "README.md").write_text(
        f"# {product}\n\n{product} is the team's service for {', '.join(topics)}. It runs in the "
        f"{product.lower()} namespace and pages the on-call engineer when a health check fails twice.\n"
    )
    for i, topic in enumerate(topics):
        name = "overview" if i == 0 else topic
        (path / "docs" / f"{name}.md").write_text(
            textwrap.dedent(f"""\
            # {product} {topic}

            The {topic} part of {product} listens on port {7000 + 10 * len(product) + i} and keeps its
            records in the {topic}_records table for ninety days before archiving them to cold storage.

            ## Operating {topic}

            Restart it with `{product.lower()} restart {topic}` after changing {product.upper()}_{topic.upper()}_LIMIT;
            the limit is read once at start-up and defaults to {40 + i} requests per second.
            """)
        )
    (path / f"{product.lower()}.py").write_text(
        f'def restart(part: str) -> str:\n    """Restart one {product} part by name and wait until it is healthy."""\n'
        f'    return f"restarting {{part}}"\n'
    )
    return path


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("trees")
    return (
        write_tree(tmp / "alpha", "Orbital", ["overview", "billing", "exports", "quotas"]),
        write_tree(tmp / "beta", "Marlin", ["overview", "routing", "limits", "tokens"]),
    )


@pytest.fixture(scope="module")
def joined(trees, tmp_path_factory) -> Path:
    """alpha, beta and sample_corpus ingested by one `corpus-ft ingest`, three kinds built."""
    run = tmp_path_factory.mktemp("joined") / "run"
    result = CliRunner().invoke(main, ["ingest", str(trees[0]), str(trees[1]), str(SAMPLE), "--out", str(run)])
    assert result.exit_code == 0, result.output
    for kind in KINDS:
        build_dataset(kind, run, generator="heuristic")
    return run


def _records(run: Path, kind: str) -> dict[str, list[dict]]:
    d = run / "datasets" / kind
    return {s: [json.loads(line) for line in (d / f"{s}.jsonl").read_text().splitlines()] for s in SPLITS}


SPLITS = ("train", "validation", "test")


def test_every_unit_names_its_repository_and_paths_and_ids_never_collide(joined, sample_run):
    table = pq.read_table(joined / "units.parquet")
    units = table.to_pylist()
    by_repo = {name: [u for u in units if u["repo"] == name] for name in ("alpha", "beta", "sample_corpus")}
    assert all(by_repo.values()) and len(units) == sum(map(len, by_repo.values()))
    for name, rows in by_repo.items():
        assert all(u["path"].startswith(f"{name}/") for u in rows), name
    # both trees hold README.md and docs/overview.md: two paths each, never one
    paths = {u["path"] for u in units}
    assert {"alpha/README.md", "beta/README.md", "alpha/docs/overview.md", "beta/docs/overview.md"} <= paths
    assert len({u["id"] for u in units}) == len(units)
    # sample_corpus joins unchanged: the same units as its own run, under its name
    alone = pq.read_table(sample_run / "units.parquet").to_pylist()
    assert sorted((f"sample_corpus/{u['path']}", u["start_line"], u["sha256"]) for u in alone) == sorted(
        (u["path"], u["start_line"], u["sha256"]) for u in by_repo["sample_corpus"]
    )
    report = json.loads((joined / "ingest_report.json").read_text())
    assert [r["name"] for r in report["repos"]] == ["alpha", "beta", "sample_corpus"]
    assert report["units"] == len(units) == sum(r["units"] for r in report["repos"])


def test_one_repository_keeps_its_paths_and_names_itself(sample_run):
    units = pq.read_table(sample_run / "units.parquet").to_pylist()
    assert {u["repo"] for u in units} == {"sample_corpus"}
    assert not any(u["path"].startswith("sample_corpus/") for u in units)
    assert json.loads((sample_run / "ingest_report.json").read_text())["repo_name"] == "sample_corpus"


@pytest.mark.parametrize("kind", KINDS)
def test_records_name_their_repository_and_splits_stay_disjoint(joined, kind):
    splits = _records(joined, kind)
    records = [r for rows in splits.values() for r in rows]
    assert records
    for r in records:
        assert r["source"]["path"].startswith(r["source"]["repo"] + "/"), r["source"]
    seen = {s: {(r["source"]["repo"], r["source"]["path"]) for r in rows} for s, rows in splits.items()}
    assert not (seen["train"] & seen["validation"] or seen["train"] & seen["test"] or seen["validation"] & seen["test"])
    assert {r["source"]["repo"] for r in records} >= ({"alpha", "beta"} if kind != "code_summary" else {"alpha"})


def test_the_card_and_stats_count_each_repository(joined):
    for kind in KINDS:
        stats = json.loads((joined / "datasets" / kind / "stats.json").read_text())
        splits = _records(joined, kind)
        for name in ("alpha", "beta", "sample_corpus"):
            counted = stats["repos"][name]
            mine = {s: sum(r["source"]["repo"] == name for r in rows) for s, rows in splits.items()}
            assert counted["records"] == sum(mine.values()) and all(counted[s] == mine[s] for s in SPLITS)
            assert counted["units"] > 0
        card = (joined / "datasets" / kind / "card.md").read_text()
        assert "## Repositories (3)" in card
        row = stats["repos"]["beta"]
        assert f"| `beta` | {row['units']} | {row['records']} | {row['train']} |" in card


def test_questions_name_their_own_repositorys_product(joined):
    questions = {
        r["source"]["repo"]: r["messages"][1]["content"] for rows in _records(joined, "qa").values() for r in rows
    }
    assert "Marlin" in questions["beta"] and "Orbital" not in questions["beta"]
    assert "Orbital" in questions["alpha"] and "Marlin" not in questions["alpha"]


def test_review_page_shows_the_mix_per_repository(joined, copy_run, artifacts_dir):
    from corpus_ft.review import write_report

    run = copy_run(joined)
    html = write_report(run).read_text()
    assert 'id="repos"' in html and 'id="repos-qa"' in html
    for name in ("alpha", "beta", "sample_corpus"):
        assert f"<code>{name}</code>" in html
    (artifacts_dir / "review_repos.html").write_text(html)
    _screenshot(run / "review" / "index.html", artifacts_dir / "review_repos.png")


def _screenshot(page: Path, out: Path) -> None:
    """The page's repository tables in a real headless Chromium, for a person to read (skipped without one)."""
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.goto(page.as_uri())
        assert tab.locator("#repos tr").count() == 4  # header and three repositories
        tab.locator("#coverage").screenshot(path=str(out))
        tab.locator("#repos-qa").screenshot(path=str(out.with_name(out.stem + "_qa.png")))
        browser.close()


# --- bad input: exit 2, nothing written -------------------------------------------------


def _bad_cli_cases(tmp: Path, trees) -> dict[str, tuple[list[str], str]]:
    alpha, beta = trees
    twin = tmp / "elsewhere" / "alpha"  # another directory with the same name
    twin.mkdir(parents=True)
    (twin / "README.md").write_text("# Twin\n\nAnother alpha.\n")
    return {
        "missing": ([str(alpha), str(tmp / "nope")], "REPO_DIR #2: "),
        "twice": ([str(alpha), str(beta), f"{alpha}/../{alpha.name}"], "same directory as REPO_DIR #1"),
        "same name": ([str(alpha), str(twin)], "--name NAME"),
    }


@pytest.mark.parametrize("case", ["missing", "twice", "same name"])
def test_cli_bad_repositories_exit_2_and_write_nothing(case, trees, tmp_path):
    args, expected = _bad_cli_cases(tmp_path, trees)[case]
    result = CliRunner().invoke(main, ["ingest", *args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_cli_names_resolve_a_clash(trees, tmp_path):
    twin = tmp_path / "elsewhere" / "alpha"
    twin.mkdir(parents=True)
    (twin / "README.md").write_text("# Twin\n\nAnother alpha repository with its own readme text.\n")
    result = CliRunner().invoke(
        main,
        ["ingest", str(trees[0]), str(twin), "--name", "alpha", "--name", "alpha2", "--out", str(tmp_path / "run")],
    )
    assert result.exit_code == 0, result.output
    assert {u["repo"] for u in pq.read_table(tmp_path / "run" / "units.parquet").to_pylist()} == {"alpha", "alpha2"}
    wrong = CliRunner().invoke(main, ["ingest", str(trees[0]), str(twin), "--name", "x", "--out", str(tmp_path / "r")])
    assert wrong.exit_code == 2 and "--name" in wrong.stderr and not (tmp_path / "r").exists()


def _recipe(tmp: Path, repos: list, run: Path | None = None) -> Path:
    path = tmp / "r.yaml"
    path.write_text(
        yaml.safe_dump({"name": "two", "repos": repos, "run_dir": str(run or tmp / "run"), "model": "tiny"})
    )
    return path


@pytest.mark.parametrize("case", ["missing", "twice", "same name", "both repo and repos"])
def test_recipe_bad_repos_exit_2_naming_the_key_and_write_nothing(case, trees, tmp_path):
    alpha, beta = trees
    twin = tmp_path / "elsewhere" / "alpha"
    twin.mkdir(parents=True)
    repos, expected = {
        "missing": ([str(alpha), {"path": str(tmp_path / "nope")}], "repos[1].path: "),
        "twice": ([str(alpha), str(beta), {"path": f"{alpha}/../{alpha.name}", "name": "a3"}], "repos[2].path: "),
        "same name": ([str(alpha), str(twin)], "set `name:` on one of them"),
        "both repo and repos": ([str(alpha)], "one of the two"),
    }[case]
    path = _recipe(tmp_path, repos)
    if case == "both repo and repos":
        data = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**data, "repo": str(beta)}))
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and str(path) in result.stderr and "Traceback" not in result.output
    if case != "both repo and repos":  # the entry's line in the file
        assert re.search(rf"{re.escape(str(path))}:\d+: repos\[", result.stderr), result.stderr
    assert not (tmp_path / "run").exists()


def test_a_change_in_the_second_repository_reruns_ingest_and_datasets(trees, tmp_path):
    import shutil

    alpha, beta = shutil.copytree(trees[0], tmp_path / "alpha"), shutil.copytree(trees[1], tmp_path / "beta")
    path = _recipe(tmp_path, [str(alpha), {"path": str(beta), "exclude": ["docs/tokens.md"]}])
    data = yaml.safe_load(path.read_text())
    data["datasets"] = {"kinds": ["paragraphs"], "generator": "heuristic"}
    path.write_text(yaml.safe_dump(data))
    first = run_recipe(load_recipe(path), ["ingest", "datasets"], echo=lambda _: None)
    assert [first["stages"][s]["status"] for s in ("ingest", "datasets")] == ["ran", "ran"]
    units = pq.read_table(tmp_path / "run" / "units.parquet").to_pylist()
    assert "beta/docs/tokens.md" not in {u["path"] for u in units}  # beta's own exclude
    assert "alpha/docs/tokens.md" not in {u["path"] for u in units} and "alpha/docs/billing.md" in {
        u["path"] for u in units
    }
    stamp = (tmp_path / "run" / ".stamps" / "repo").read_text().splitlines()
    assert stamp == [str(alpha), str(beta)]

    again = run_recipe(load_recipe(path), ["ingest", "datasets"], echo=lambda _: None)
    assert [again["stages"][s]["status"] for s in ("ingest", "datasets")] == ["up to date", "up to date"]

    page = beta / "docs" / "routing.md"
    page.write_text(page.read_text() + "\nRouting tables are rebuilt every five minutes from the service registry.\n")
    third = run_recipe(load_recipe(path), ["ingest", "datasets"], echo=lambda _: None)
    assert [third["stages"][s]["status"] for s in ("ingest", "datasets")] == ["ran", "ran"]
    report = json.loads((tmp_path / "run" / "ingest_report.json").read_text())
    assert report["cache"]["parsed_files"] == 1  # only the changed file of the second repository
    text = (tmp_path / "run" / "datasets" / "paragraphs" / "train.jsonl").read_text()
    text += (tmp_path / "run" / "datasets" / "paragraphs" / "validation.jsonl").read_text()
    text += (tmp_path / "run" / "datasets" / "paragraphs" / "test.jsonl").read_text()
    assert "rebuilt every five minutes" in text


@pytest.mark.slow
def test_a_recipe_with_two_repositories_runs_every_stage(tmp_path):
    """Two trees through ingest, datasets, review, estimate, train (tiny Llama, 2 steps) and evaluate: ~25 s
    on a loaded 2-core machine, most of it importing torch and the stages after build."""
    quillby = write_repo(tmp_path / "quillby")
    path = tiny_recipe(tmp_path / "two.yaml", quillby, tmp_path / "run", None)
    data = yaml.safe_load(path.read_text())
    del data["repo"]
    marlin = write_tree(tmp_path / "marlin-svc", "Marlin", ["overview", "routing", "limits", "tokens", "retries"])
    data["repos"] = [str(quillby), {"path": str(marlin), "name": "marlin"}]
    data["datasets"].update(kinds=["qa", "paragraphs"], split_ratios=[0.6, 0.2, 0.2])
    data["evaluate"].update(kinds=["qa", "paragraphs"], test_sample=3)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_recipe(load_recipe(path), echo=lambda _: None)
    assert set(STAGES) <= set(result["stages"]) and all(s["status"] == "ran" for s in result["stages"].values())
    run = tmp_path / "run"
    for kind in ("qa", "paragraphs"):
        stats = json.loads((run / "datasets" / kind / "stats.json").read_text())
        assert set(stats["repos"]) == {"quillby", "marlin"}
        assert all(c["records"] > 0 for c in stats["repos"].values()), stats["repos"]
        assert "| `marlin` |" in (run / "datasets" / kind / "card.md").read_text()
    assert (run / "model" / "adapter" / "adapter_config.json").is_file()
    rows = [json.loads(line) for line in (run / "eval" / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["source"]["repo"] in ("quillby", "marlin") for r in rows if r.get("source"))
    summary = json.loads((run / "eval" / "summary.json").read_text())
    assert {r["source"]["repo"] for r in rows if r.get("source")} == {"quillby", "marlin"}  # seeded sample
    assert set(summary["aggregate"]["repos"]) == {"quillby", "marlin"}
    assert "repository: marlin" in (run / "eval" / "report.md").read_text()
    assert "repository: marlin" in (run / "eval" / "report.html").read_text()
    assert (
        os.path.getsize(run / "review" / "index.html") and 'id="repos"' in (run / "review" / "index.html").read_text()
    )
