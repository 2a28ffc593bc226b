"""Content policy that carries to any repository: the product's name from package metadata and the
README's title, translations and community pages left out by default (one switch keeps a language),
stubs, typing tests, benchmarks and build metadata in their own categories, no people lists."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_ft.datasets import BuildConfig, build_dataset
from corpus_ft.ingest import ingest_repo, people_list
from corpus_ft.ingest.language import path_language, text_language
from corpus_ft.ingest.policy import file_category
from corpus_ft.ingest.product import product_name
from corpus_ft.util import CorpusFtError, read_jsonl

ENGLISH = (
    "The scheduler reads every job from the queue and runs it when its time comes. A job that fails is "
    "retried three times with a growing delay, and then it is moved to the dead letter table where an "
    "operator can look at it."
)
GERMAN = (
    "Der Planer liest jeden Auftrag aus der Warteschlange und führt ihn aus, wenn seine Zeit gekommen ist. "
    "Ein Auftrag, der nicht gelingt, wird dreimal wiederholt und dann in die Tabelle der toten Briefe "
    "verschoben, wo ein Betreiber ihn sich ansehen kann. Das ist auch für die Planung wichtig."
)
JAPANESE = (
    "スケジューラはキューからすべてのジョブを読み取り、時間になると実行します。失敗したジョブは三回再試行されます。" * 2
)

FILES = {
    "pyproject.toml": '[project]\nname = "tasklane"\nversion = "1.0"\n',
    # no level-one heading: the first heading is a section's, not the product's name
    "README.md": f"## Compatibility\n\nTasklane runs on Linux and macOS. {ENGLISH}\n\n"
    f"## Contributing\n\nOpen a pull request against the main branch and sign the agreement first. {ENGLISH}\n",
    "README.de.md": f"# Tasklane\n\n## Kompatibilität\n\n{GERMAN}\n",
    "README.ja.md": f"# Tasklane\n\n## 互換性\n\n{JAPANESE}\n",
    "docs/guide.md": f"# Scheduling jobs\n\n{ENGLISH}\n\n## Retries\n\n{ENGLISH}\n",
    "CODE_OF_CONDUCT.md": "# Contributor Covenant Code of Conduct\n\nWe pledge to make participation in our "
    "community a harassment-free experience for everyone, regardless of age or body size.\n",
    "docs/maintainers.md": "# People\n\nThe project is run by:\n\n- Ada Lovelace <ada@example.org>\n"
    "- Grace Hopper @ghopper\n- Alan Turing\n- Edsger van Dijk\n- Barbara Liskov (core)\n",
    "src/tasklane/__init__.py": 'def run(job):\n    """Run one job now and return its result."""\n    return job()\n',
    "src/tasklane/__init__.pyi": "def run(job: object) -> object: ...\n",
    "typing_tests/check_run.py": 'def check_types():\n    """Exercise the checker on run()."""\n    run(1)\n',
    "bench/bench_queue.py": 'def time_enqueue():\n    """Time one thousand enqueues of a job."""\n    return 1\n',
    "setup.py": 'def build_ext():\n    """Build the C extension for the queue."""\n    return 1\n',
}


@pytest.fixture(scope="module")
def policy_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("carry")
    repo = root / "repo"
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    ingest_repo(repo, root / "run", workers=1)
    return root / "run"


def test_categories_of_community_pages_people_lists_stubs_type_tests_benchmarks_and_build_files(policy_run):
    rows = pq.read_table(policy_run / "units.parquet").to_pylist()
    cats: dict[str, set] = {}
    for r in rows:
        cats.setdefault(r["path"], set()).add(r["category"])
    assert cats["CODE_OF_CONDUCT.md"] == {"community"}
    assert cats["docs/maintainers.md"] == {"community"}, "a page that is a list of people's names"
    assert cats["README.md"] == {"docs", "community"}, "the README's Contributing section only"
    assert cats["src/tasklane/__init__.py"] == {"source"}
    assert cats["src/tasklane/__init__.pyi"] == {"stub"}
    assert cats["typing_tests/check_run.py"] == {"type_test"}
    assert cats["bench/bench_queue.py"] == {"benchmark"}
    assert cats["setup.py"] == {"build"}


def test_product_comes_from_package_metadata_never_from_a_first_heading(policy_run, tmp_path):
    report = json.loads((policy_run / "ingest_report.json").read_text())
    assert report["product"] == "Tasklane", "pyproject's name, spelled as the README spells it"
    stats = build_dataset("qa", policy_run, generator="heuristic", force=True)
    questions = [r["messages"][1]["content"] for r in read_jsonl(policy_run / "datasets/qa/train.jsonl")]
    questions += [r["messages"][1]["content"] for r in read_jsonl(policy_run / "datasets/qa/test.jsonl")]
    questions += [r["messages"][1]["content"] for r in read_jsonl(policy_run / "datasets/qa/validation.jsonl")]
    assert stats["total"] and questions
    assert not [q for q in questions if "Compatibility documentation" in q]


@pytest.mark.parametrize(
    ("files", "name"),
    [
        ({"package.json": '{"name": "@acme/fastroute"}', "README.md": "# FastRoute\n\ntext\n"}, "FastRoute"),
        ({"go.mod": "module github.com/acme/relay/v2\n\ngo 1.22\n", "README.md": "## Install\n"}, "relay"),
        (
            {"Cargo.toml": '[package]\nname = "grepline"\n', "README.md": "grepline is fast. Use grepline.\n"},
            "grepline",
        ),
        ({"pom.xml": "<project><artifactId>poet</artifactId><name>JavaPoet</name></project>"}, "JavaPoet"),
        ({"settings.gradle": "rootProject.name = 'ledger-core'\n"}, "ledger-core"),
        ({"Acme.Billing.csproj": "<Project><PropertyGroup></PropertyGroup></Project>"}, "Acme.Billing"),
        ({"setup.cfg": "[metadata]\nname = shelfy\n"}, "shelfy"),
        ({"README.rst": "=======\nMarrow\n=======\n\nMarrow does things.\n"}, "Marrow"),
        ({"README.md": "## Compatibility\n\nWorks everywhere.\n"}, ""),
        ({"README.md": "# Welcome to the documentation of our tool.\n"}, ""),
    ],
)
def test_product_name_of_each_ecosystem(tmp_path, files, name):
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    assert product_name(tmp_path) == name


def test_translations_are_left_out_by_default_and_one_switch_keeps_a_language(policy_run):
    stats = build_dataset("paragraphs", policy_run, force=True)
    paths = {
        r["source"]["path"]
        for split in ("train", "validation", "test")
        for r in read_jsonl(policy_run / f"datasets/paragraphs/{split}.jsonl")
    }
    assert "README.de.md" not in paths and "README.ja.md" not in paths
    assert "docs/guide.md" in paths
    assert stats["left_out"]["translation"] >= 2
    assert {"community"} <= set(stats["left_out"])
    build_dataset("paragraphs", policy_run, BuildConfig(keep_languages=["de"]), force=True)
    paths = {
        r["source"]["path"]
        for split in ("train", "validation", "test")
        for r in read_jsonl(policy_run / f"datasets/paragraphs/{split}.jsonl")
    }
    assert "README.de.md" in paths and "README.ja.md" not in paths
    with pytest.raises(CorpusFtError, match="keep_languages"):
        build_dataset("paragraphs", policy_run, keep_languages=["german"], force=True)


def test_language_identification_reads_prose_not_code():
    assert text_language(ENGLISH) == "en"
    assert text_language(GERMAN) == "de"
    assert text_language(JAPANESE) == "ja"
    assert text_language("使用方法\n\n```python\nimport x\nx.run()\n```\n" + "这是一个用于运行任务的库。" * 4) == "zh"
    assert text_language("```python\n" + "def run(job):\n    return job()\n" * 20 + "```") == "", (
        "code alone tells nothing"
    )
    assert text_language("Install it.") == "", "too little prose"


@pytest.mark.parametrize(
    ("rel", "lang"),
    [
        ("README.zh-CN.md", "zh"),
        ("README_ja.md", "ja"),
        (".github/README_ko.md", "ko"),
        ("README.pt-br.md", "pt"),
        ("docs/de/index.md", "de"),
        ("docs/en/docs/index.md", "en"),
        ("README.md", ""),
        ("docs/api/index.md", ""),
        ("src/io/readme.md", ""),
    ],
)
def test_translation_path_conventions(rel, lang):
    assert path_language(rel) == lang


def test_people_lists_but_not_tables_of_contents():
    assert people_list("- Ada Lovelace <ada@example.org>\n- Grace Hopper @gh\n- Alan Turing\n- Li Wei (core)\n")
    assert people_list(
        "- Sebastian Vetter `@elbaschid <https://github.com/elbaschid>`_\n- Jérôme Lafréchoux `@lafrech`_\n"
        "- Jared Deckard\n- Mike Smith\n"
    )
    assert not people_list(
        "- [Getting Started](start.md)\n- [Request Hooks](hooks.md)\n- [Custom Auth](a.md)\n- [X Y](#y)\n"
    )
    assert not people_list(ENGLISH)


@pytest.mark.parametrize(
    ("rel", "language", "category"),
    [
        ("CONTRIBUTING.rst", "rst", "community"),
        ("SECURITY.md", "markdown", "community"),
        ("docs/security.md", "markdown", "docs"),  # inside a docs tree a security page is a feature's
        ("src/pkg/mod.pyi", "python", "stub"),
        ("tests/typing/test_typing_run.py", "python", "type_test"),
        ("index.test-d.ts", "typescript", "type_test"),
        ("benches/search.rs", "rust", "benchmark"),
        ("performance/benchmark.py", "python", "benchmark"),
        (".git_archival.txt", "text", "build"),
        ("docs/conf.py", "python", "build"),
        ("src/conf.py", "python", "source"),
    ],
)
def test_path_conventions_of_the_new_categories(rel, language, category):
    assert file_category(rel, language, []) == category


def test_a_markdown_page_with_template_statements_is_a_template_and_benchmark_sections_are_benchmarks():
    from corpus_ft.ingest.policy import unit_category

    page = [
        {
            "kind": "section",
            "name": "FAQ",
            "heading_path": ["FAQ"],
            "text": "{% for q in questions %}\n- {{ q.title }}\n{% endfor %}",
        }
    ]
    assert file_category(".faq/FAQ.md", "markdown", page) == "template"
    quoted = [
        {
            "kind": "section",
            "name": "Loops",
            "heading_path": ["Loops"],
            "text": "Write `{% for x in xs %}`:\n\n```\n{% for x in xs %}\n{% endfor %}\n```",
        }
    ]
    assert file_category("docs/loops.md", "markdown", quoted) == "docs", "templating quoted as code is documentation"
    bench = {"kind": "section", "heading_path": ["Web Framework", "⚡ Performance Benchmarks"], "text": "x | 1 ns/op"}
    assert unit_category(bench, "docs") == "benchmark"


def test_a_table_of_figures_is_no_language():
    table = "Benchmark name | (1) | (2)\n--- | --- | ---\n" + "BenchmarkA_All | 43550 | 27364 ns/op | 0 B/op\n" * 30
    assert text_language("The router is fast compared to the others in this table.\n\n" + table) == ""


def test_team_rosters_with_handles_are_people_lists_and_team_headings_are_community():
    from corpus_ft.ingest.policy import unit_category

    roster = (
        "- aravind99 - Aravind Nair\n- bjsebas - Sebastian Beltran\n- carpasse - Carlos Serrano\n"
        "- UlisesG - Ulises Gascón (he/him)\n- IamLizu - S M Mahmudul Hasan (he/him)\n"
    )
    assert people_list(roster)
    for heading in ("Current project team members", "TC (Technical Committee)", "Emeritus Triagers", "Collaborators"):
        unit = {"kind": "section", "heading_path": ["Web Framework", heading], "text": "- a\n"}
        assert unit_category(unit, "docs") == "community", heading
    assert unit_category({"kind": "section", "heading_path": ["Teams API"], "text": "x"}, "docs") == "docs"
