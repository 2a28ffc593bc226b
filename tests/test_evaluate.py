"""`corpus-ft evaluate`: queries files, metrics, judge parsing, and a real base-vs-tuned run.

The model tests evaluate `trained_run` (conftest): the sample corpus ingested, its four datasets
built, and the tiny Llama trained with LoRA by `corpus-ft train`; the held-out test split is
text of the same corpus the model never trained on, so its perplexity must fall when tuned.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.evaluate import EvalConfig, evaluate, load_probes
from corpus_ft.evaluate.judge import parse
from corpus_ft.evaluate.metrics import keyword_recall, rouge_l, token_f1
from corpus_ft.evaluate.queries import load_queries, span
from corpus_ft.util import CorpusFtError

# --- queries files: validation before any model loads -------------------------------------


def test_yaml_queries_are_normalised(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text(
        "queries:\n"
        "  - query: How do I restart billing?\n"
        "    reference: Run make restart-billing.\n"
        "    keywords: [restart-billing]\n"
        "    identifiers: make\n"
        "    tags: ops, billing\n"
        "    source: docs/billing.md:3-9\n"
        '  - {query: "Who owns search?", id: own-1}\n'
    )
    q = load_queries(path, system_prompt="sys")
    assert [x["origin"] for x in q] == [f"{path}:2", f"{path}:8"]
    assert q[0]["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "How do I restart billing?"},
    ]
    assert q[0]["keywords"] == ["restart-billing", "make"] and q[0]["tags"] == ["ops", "billing"]
    assert q[0]["source"] == {"path": "docs/billing.md", "start_line": 3, "end_line": 9}
    assert q[1]["id"] == "own-1" and q[1]["reference"] is None


@pytest.mark.parametrize(
    "name, text, where, words",
    [
        ("syntax.yaml", '- query: ok\n- query: "unterminated\n  tags: [a\n', ":4", "not valid YAML"),
        ("missing.yaml", "- query: ok\n- reference: no question\n  tags: [x]\n", ":2", "missing `query`"),
        ("unknown.yaml", "- query: ok\n\n- query: b\n  refrence: typo\n", ":3", "unknown key(s) refrence"),
        ("keywords.yaml", "- query: ok\n  keywords: {a: 1}\n", ":1", "`keywords` must be a list"),
        ("notalist.yaml", "query: just one\n", ":1", "expected a list of queries"),
        ("bad.jsonl", '{"query": "a"}\n\n{"query": oops}\n', ":3", "not valid JSON"),
        ("missing.jsonl", '{"query": "a"}\n{"reference": "b"}\n', ":2", "missing `query`"),
        ("dup.jsonl", '{"query": "a", "id": "x"}\n{"query": "b", "id": "x"}\n', ":2", "duplicate id 'x'"),
    ],
)
def test_malformed_queries_name_file_and_line(tmp_path, name, text, where, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CorpusFtError) as e:
        load_queries(path)
    assert str(e.value).startswith(f"{path}{where}:") and words in str(e.value)


def test_cli_malformed_queries_exits_2_and_writes_nothing(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("- query: fine\n- tags: [no, query]\n")
    run = tmp_path / "run"
    run.mkdir()
    result = CliRunner().invoke(main, ["evaluate", str(run), "--queries", str(path)])
    assert result.exit_code == 2, result.output
    assert f"error: {path}:2: missing `query`" in result.output
    assert not (run / "eval").exists()


def test_cli_rejects_unknown_kind_and_empty_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    r = CliRunner().invoke(main, ["evaluate", str(run), "--kinds", "qa,poems"])
    assert r.exit_code == 2 and "unknown kind(s) poems" in r.output
    r = CliRunner().invoke(main, ["evaluate", str(run)])
    assert r.exit_code == 2 and "nothing to evaluate" in r.output and "datasets/qa/test.jsonl not found" in r.output


# --- metrics and judge parsing ---------------------------------------------------------------


def test_metrics_against_reference():
    ref = "Run make restart-billing on the billing host."
    assert rouge_l(ref, ref) == pytest.approx(1.0) and token_f1(ref, ref) == pytest.approx(1.0)
    assert rouge_l("completely unrelated words", ref) == 0.0
    assert 0 < token_f1("run the billing restart", ref) < 1
    assert token_f1("host billing the on", ref) > rouge_l("host billing the on", ref)  # F1 ignores order
    assert keyword_recall("Use make restart-billing.", ["restart-billing", "healthz"]) == 0.5
    assert keyword_recall("anything", []) is None


def test_verdict_style_and_intervals_of_answers():
    from corpus_ft.evaluate.metrics import bootstrap_ci, list_shaped, verdict

    keys = ["case-insensitive", "CORPUS_FT_"]
    assert verdict("Names are case-insensitive and start with CORPUS_FT_.", keys) == "correct"
    assert verdict("They are case-insensitive by default.", keys) == "partly"
    assert verdict("Yes.", keys) == "wrong" and verdict("Yes.", []) is None
    assert list_shaped("1. Open the file\n2. Edit it") and list_shaped("- first") and list_shaped("  2) then")
    assert not list_shaped("Release 1.2 added it.") and not list_shaped("10.5 seconds") and not list_shaped("")
    assert bootstrap_ci([1.0]) is None and bootstrap_ci([0.5, 0.5, 0.5]) == [0.5, 0.5]
    lo, hi = bootstrap_ci([0.0] * 6 + [1.0] * 6)
    assert 0.1 < lo < 0.5 < hi < 0.9, (lo, hi)  # 12 coin flips: a wide interval around 0.5
    assert bootstrap_ci([0.0] * 6 + [1.0] * 6) == [lo, hi], "seeded: the same interval every run"
    lo2, hi2 = bootstrap_ci([0.0] * 60 + [1.0] * 60)
    assert hi2 - lo2 < (hi - lo) / 2, "ten times the items, a much narrower interval"


def _row(rid: str, ref: str, keywords: list[str], base: str, tuned: str) -> dict:
    from corpus_ft.evaluate.metrics import answer_metrics

    return {
        "id": rid,
        "kind": "query",
        "group": "queries",
        "tags": [],
        "reference": ref,
        "keywords": keywords,
        "base": {"answer": base, **answer_metrics(base, ref, keywords)},
        "tuned": {"answer": tuned, **answer_metrics(tuned, ref, keywords)},
    }


def test_a_wrong_answer_with_more_overlap_is_not_a_win():
    from corpus_ft.evaluate import _highlights
    from corpus_ft.evaluate.metrics import aggregate

    ref = "No: environment variable names are case-insensitive by default."
    wrong = _row(
        "env", ref, ["case-insensitive"], "They are tokens.", "Yes: environment variable names are case-sensitive."
    )
    assert wrong["tuned"]["rougeL"] > wrong["base"]["rougeL"], "ROUGE-L alone would call this a win"
    fixed = _row("port", "It listens on port 8443.", ["8443"], "It listens on port 80.", "Port 8443.")
    hl = _highlights([wrong, fixed])
    assert hl == {"better": ["port"], "worse": []} and wrong["delta"] == 0 and wrong["primary_metric"] == "verdict"
    agg = aggregate([wrong, fixed])
    assert agg["small_n"] is True and agg["tuned_better"] == 1 and agg["ties"] == 1
    v = agg["tuned"]["verdicts"]
    assert (v["correct"], v["partly"], v["wrong"], v["correct_share"]) == (1, 0, 1, 0.5)
    assert v["correct_share_ci"][0] <= 0.5 <= v["correct_share_ci"][1]


def test_style_check_points_out_list_shaped_answers():
    from corpus_ft.evaluate.metrics import aggregate
    from corpus_ft.evaluate.report import style_warnings

    rows = [
        _row(
            f"q{i}",
            "Restart the billing service with make restart.",
            ["restart"],
            "Use make restart.",
            "1. Open a shell\n2. Run make restart\n3. Check the logs",
        )
        for i in range(9)
    ] + [_row("q9", "It runs at 02:30 UTC.", ["02:30"], "At 02:30 UTC.", "At 02:30 UTC.")]
    agg = aggregate(rows)
    assert agg["tuned"]["style"]["list_shaped"] == 9 and agg["base"]["style"]["list_shaped"] == 0
    warnings = style_warnings(agg)
    assert any(w.startswith("9 of 10 tuned answers open as a list (base: 0)") for w in warnings), warnings


def test_judge_parse_is_robust():
    good = (
        'Sure!\n```json\n{"A": {"relevance": 4, "coherence": 5, "factuality": 3, "helpfulness": 4},\n'
        '"B": {"Relevance": "2", "coherence": 2, "factuality": 1, "helpfulness": 2}, "preferred": "a",'
        ' "reason": "A cites the runbook"}\n```'
    )
    p = parse(good)
    assert p["preferred"] == "A" and p["A"]["coherence"] == 5 and p["B"]["relevance"] == 2
    no_pref = (
        '{"A": {"relevance": 1, "coherence": 1, "factuality": 1, "helpfulness": 1}, '
        '"B": {"relevance": 3, "coherence": 3, "factuality": 3, "helpfulness": 3}}'
    )
    assert parse(no_pref)["preferred"] == "B"
    for bad in ("", "A is better", '{"A": {"relevance": 9}}', no_pref.replace("3", "7"), "{not json"):
        assert "unparseable" in parse(bad)["error"]


def test_probe_files(tmp_path):
    shipped = load_probes()
    assert len(shipped) >= 10 and not any(p.startswith("#") for p in shipped)
    j = tmp_path / "p.jsonl"
    j.write_text('{"text": "one"}\n{"txt": "two"}\n')
    with pytest.raises(CorpusFtError, match="record 2 has no `text`"):
        load_probes(j)


# --- a real run: the sample corpus, built and trained (conftest `trained_run`) -----------------


def _fresh_adapter(model_dir: Path, out: Path) -> Path:
    """A LoRA adapter straight from get_peft_model: its B matrices are zero, so it changes nothing."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
    ).save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


def _base_of(run: Path) -> Path:
    return Path(json.loads((run / "model" / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model's ops are too small to gain from 2 threads, and on a shared 2-core machine
    two spinning threads run ~3x slower than one; restored after this module."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


QUERIES = """# custom domain queries: the second one tries to inject markup into the report
- query: Can one payment settle several invoices?
  reference: Yes, since release 3.5.0 partial-match splitting matches one statement line to up to 20 ledger entries.
  keywords: ["3.5.0", "20 ledger entries"]
  tags: [matching]
  source: docs/faq.md:33-36
- query: "What does <img src=x onerror=\\"document.title='pwned'\\"> do?"
  tags: [security]
"""


@pytest.fixture(scope="module")
def evaluated(trained_run, tmp_path_factory) -> tuple[Path, dict]:
    """A copy of trained_run evaluated on two custom queries and 3 test records per kind."""
    run = tmp_path_factory.mktemp("evaluated") / "run"
    shutil.copytree(trained_run, run)
    queries = run.parent / "queries.yaml"
    queries.write_text(QUERIES)
    summary = evaluate(run, EvalConfig(queries=queries, test_sample=3, max_new_tokens=12, batch_size=4))
    return run, summary


def _sampled(run: Path, per_kind: int = 3) -> dict[str, int]:
    """Held-out records the evaluation samples per kind: `per_kind`, or all of a smaller test split."""
    return {
        k: min(per_kind, len((run / "datasets" / k / "test.jsonl").read_text().splitlines()))
        for k in ("paragraphs", "qa", "keywords", "code_summary")
    }


@pytest.mark.slow
def test_tuned_beats_base_on_held_out_perplexity(evaluated):
    run, s = evaluated
    out = run / "eval"
    assert {p.name for p in out.iterdir()} >= {
        "report.html",
        "report.md",
        "results.jsonl",
        "ratings.csv",
        "summary.json",
        "manifest.json",
    }
    sampled = _sampled(run)  # 3 per kind, or the whole test split of a kind that holds fewer
    for kind in ("paragraphs", "qa", "keywords", "code_summary"):  # the headline: training helped on held-out text
        agg = s["aggregate"]["kinds"][kind]
        assert agg["n"] == sampled[kind] > 0 and agg["tuned"]["ppl"] < agg["base"]["ppl"], (kind, agg)
    assert s["aggregate"]["test"]["tuned"]["ppl"] < s["aggregate"]["test"]["base"]["ppl"]
    assert s["decoding"] == {
        "max_new_tokens": 12,
        "greedy": True,
        "temperature": 0.0,
        "top_p": 1.0,
        "seed": 0,
        "batch_size": 4,
        "max_length": 1024,
    }
    assert s["counts"] == {
        "queries": 2,
        "test": sampled,
        "total": 2 + sum(sampled.values()),
    }
    assert s["missing_kinds"] == {} and s["tiny_model"] is True and s["base"] == str(_base_of(run))
    assert s["adapter_check"]["max_abs_logit_diff"] > 0
    f = s["forgetting"]
    assert f["n"] == len(load_probes()) and f["base_ppl"] > 0 and f["tuned_ppl"] > 0
    assert f["flag"] == (f["tuned_ppl"] > 1.1 * f["base_ppl"])
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == s["counts"]["total"] and rows[0]["origin"].endswith("queries.yaml:2")
    faq = (Path(__file__).parent.parent / "sample_corpus" / "docs" / "faq.md").read_text().splitlines()
    assert rows[0]["source_text"] == "\n".join(faq[32:36])  # docs/faq.md:33-36 from units.parquet
    for r in rows[2:]:  # every test record shows the exact lines it was built from
        src = (Path(__file__).parent.parent / "sample_corpus" / r["source"]["path"]).read_text().splitlines()
        span = src[r["source"]["start_line"] - 1 : r["source"]["end_line"]]
        if r["source"]["path"].endswith((".md", ".rst", ".txt", ".html")):
            # documents show the parser's clean text, one line per source line (no reST underlines)
            assert len(r["source_text"].split("\n")) == len(span) and "\n----" not in r["source_text"]
        else:  # code as written, but for the secrets planted in the sample corpus (reports are redacted)
            shown = r["source_text"].split("\n")
            assert len(shown) == len(span)
            assert all(a == b or "[REDACTED_" in a for a, b in zip(shown, span)), r["source"]
        if r["kind"] != "paragraphs":
            assert isinstance(r["base"]["answer"], str) and r["tuned"]["new_tokens"] <= 12
            assert r["base"]["ref_tokens"] == r["tuned"]["ref_tokens"] > 0
        else:
            assert "answer" not in r["base"] and r["base"]["ppl"] > 0
    assert all(r["keywords"] for r in rows if r["kind"] in ("keywords", "code_summary"))
    with open(out / "ratings.csv", newline="") as fh:
        sheet = list(csv.DictReader(fh))
    assert [r["id"] for r in sheet] == [r["id"] for r in rows]
    assert all(r[c] == "" for r in sheet for c in ("rater", "base_score", "tuned_score", "preferred", "comment"))
    md = (out / "report.md").read_text()
    assert "| kind: qa | 3 |" in md and "docs/faq.md:33-36" in md and "Where tuned did worse" in md
    # the tiny model's real answers, judged on their expected keywords: correct / partly / wrong
    for r in rows:
        for side in ("base", "tuned"):
            a, recall = r[side], r[side].get("keyword_recall")
            want = None if recall is None else "correct" if recall == 1 else "partly" if recall else "wrong"
            assert a.get("verdict") == want, (r["id"], side, a)
            if "answer" in a:
                assert a["list_shaped"] == bool(re.match(r"\s*(\d{1,2}[.)]|[-*\u2022])\s+\S", a["answer"]))
    agg = s["aggregate"]["all"]
    total = s["counts"]["total"]
    assert agg["small_n"] is True and agg["n"] == total == 2 + sum(_sampled(run).values())
    judged = [r for r in rows if r["tuned"].get("verdict")]
    assert agg["tuned"]["verdicts"]["n"] == len(judged) > 0
    assert agg["tuned"]["style"]["n"] == sum("answer" in r["tuned"] for r in rows)
    lo, hi = agg["tuned"]["rougeL_ci"]
    assert lo <= agg["tuned"]["rougeL"] <= hi
    assert f"**Only {total} item(s)** (fewer than 30)" in md and "## Answer style" in md


@pytest.mark.slow
def test_same_settings_give_the_same_answers_and_probes_are_replaceable(evaluated, tmp_path):
    run, _ = evaluated
    again = tmp_path / "run"
    shutil.copytree(run, again, ignore=shutil.ignore_patterns("eval"))
    probes = tmp_path / "probes.jsonl"
    probes.write_text('{"text": "The weather was mild for the season."}\n{"text": "She read the letter twice."}\n')
    s = evaluate(again, EvalConfig(test_sample=3, max_new_tokens=12, batch_size=2, kinds=["qa"], probes=probes))
    assert s["forgetting"]["n"] == 2 and s["forgetting"]["probes"] == str(probes)
    first = {r["id"]: r for r in map(json.loads, (run / "eval" / "results.jsonl").read_text().splitlines())}
    for r in map(json.loads, (again / "eval" / "results.jsonl").read_text().splitlines()):
        for side in ("base", "tuned"):  # greedy + a different batch size: same answers, same perplexity
            assert r[side]["answer"] == first[r["id"]][side]["answer"]
            assert r[side]["ppl"] == pytest.approx(first[r["id"]][side]["ppl"], rel=1e-4)


@pytest.mark.slow
def test_untrained_adapter_is_an_error_not_a_tie(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("eval", "model"))
    _fresh_adapter(_base_of(trained_run), run / "model" / "adapter")
    r = CliRunner().invoke(main, ["evaluate", str(run), "--test-sample", "1", "--max-new-tokens", "4"])
    assert r.exit_code == 1, r.output
    assert "tuned and base logits are identical" in r.output and "error:" in r.output
    assert not (run / "eval").exists()


@pytest.mark.slow
def test_ratings_fold_back_without_regenerating(evaluated, tmp_path):
    src, _ = evaluated
    run = tmp_path / "run"
    shutil.copytree(src, run)
    results_before = (run / "eval" / "results.jsonl").read_text()
    sheet = run / "eval" / "ratings.csv"
    with open(sheet, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(rater="ana", base_score="2", tuned_score="4", preferred="tuned", comment="names the make target")
    rows[1].update(rater="bo", base_score="3", tuned_score="3", preferred="tie")
    filled = tmp_path / "filled.csv"
    with open(filled, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    r = CliRunner().invoke(main, ["evaluate", str(run), "--ratings", str(filled), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["human"]["ratings"] == 2 and s["human"]["raters"] == ["ana", "bo"]
    assert s["human"]["tuned_score"] == 3.5 and s["human"]["preferred"] == {"base": 0, "tuned": 1, "tie": 1}
    assert (run / "eval" / "results.jsonl").read_text().count("names the make target") == 1
    assert json.loads((run / "eval" / "results.jsonl").read_text().splitlines()[2]) == json.loads(
        results_before.splitlines()[2]
    ) | {"human": []}
    html = (run / "eval" / "report.html").read_text()
    assert "Human ratings" in html and "names the make target" in html
    with open(run / "eval" / "ratings.csv", newline="") as fh:  # the sheet keeps the ratings
        assert list(csv.DictReader(fh))[0]["rater"] == "ana"
    rows[1]["tuned_score"] = "9"
    with open(filled, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    r = CliRunner().invoke(main, ["evaluate", str(run), "--ratings", str(filled)])
    assert r.exit_code == 2 and f"{filled}:3: tuned_score must be a number from 1 to 5" in r.output


@pytest.mark.slow
def test_judge_over_a_real_openai_compatible_server(evaluated, tmp_path):
    """The tiny model cannot write rubric JSON: every judgment is recorded as unparseable, with its raw reply."""
    from corpus_ft.generate.server import serve_in_background

    src, _ = evaluated
    run = tmp_path / "run"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("eval"))
    with serve_in_background(_base_of(src), model_name="judge") as url:
        s = evaluate(
            run,
            EvalConfig(
                test_sample=2, kinds=["qa"], max_new_tokens=6, judge_url=url, judge_model="judge", judge_max_tokens=16
            ),
        )
    assert s["judge"]["judged"] + s["judge"]["unparseable"] + s["judge"]["failed"] == 2
    assert s["judge"]["unparseable"] == 2
    rows = [json.loads(x) for x in (run / "eval" / "results.jsonl").read_text().splitlines()]
    for r in rows:
        assert sorted(r["judge"]["order"]) == ["base", "tuned"] and r["judge"]["raw"] is not None
    assert (run / "cache" / "judge").exists()


@pytest.mark.slow
def test_judge_scores_map_back_through_the_blind_order(evaluated, tmp_path):
    """A scripted judge on loopback always prefers answer A: the preference must land on whichever
    model was shown first, and the rubric it received must name neither model."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from corpus_ft.generate.server import run_in_background

    seen = []
    verdict = json.dumps(
        {
            "A": dict.fromkeys(("relevance", "coherence", "factuality", "helpfulness"), 5),
            "B": dict.fromkeys(("relevance", "coherence", "factuality", "helpfulness"), 1),
            "preferred": "A",
            "reason": "A is grounded",
        }
    )

    async def chat(request):
        seen.append((await request.json())["messages"][0]["content"])
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": verdict}}]})

    src, _ = evaluated
    run = tmp_path / "run"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("eval"))
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with run_in_background(app) as url:
        s = evaluate(
            run,
            EvalConfig(test_sample=3, kinds=["qa"], max_new_tokens=6, seed=3, judge_url=url, judge_model="scripted"),
        )
    assert s["judge"]["judged"] == 3 and s["judge"]["unparseable"] == 0
    rows = [json.loads(x) for x in (run / "eval" / "results.jsonl").read_text().splitlines()]
    for r in rows:
        first = r["judge"]["order"][0]
        assert r["judge"]["preferred"] == first and r[first]["judge"] == 5.0
        assert r["judge"][first]["factuality"] == 5 and r["judge"]["reason"] == "A is grounded"
    assert sum(s["judge"]["preferred"].values()) == 3
    assert len(seen) == 3 and all("tuned" not in p and "base model" not in p for p in seen)
    for r in rows:  # each prompt carried its record's source span and text (requests arrive in any order)
        assert any(f"Source excerpt ({span(r['source'])}):\n{r['source_text']}" in p for p in seen)


@pytest.mark.slow
def test_bench_eval_prints_time_and_rate():
    r = CliRunner().invoke(
        main, ["bench", "eval", "--queries", "4", "--max-new-tokens", "2", "--threads", "1", "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["queries"] == 4 and out["threads"] == 1 and out["wall_s"] > 0
    assert out["queries_per_s"] == pytest.approx(4 / out["wall_s"], rel=0.05)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="headless Chromium not installed (`make test-deps` installs it with apt)"
)
def test_report_renders_in_chromium(evaluated, artifacts_dir):
    """Opened from disk in headless Chromium: it renders, links work, markup is inert, nothing is fetched."""
    from playwright.sync_api import sync_playwright

    run, summary = evaluated
    report = run / "eval" / "report.html"
    requests = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        assert page.title().startswith("corpus-ft evaluation")  # the injected onerror did not run
        assert page.locator("h2").all_inner_texts()[:4] == ["Setup", "Aggregate", "Answer style", "Forgetting check"]
        rows = page.locator("#aggregate tr")
        agg = summary["aggregate"]
        assert rows.count() == 1 + 3 + len(agg["kinds"]) + len(agg["tags"])  # header, all/queries/test, kinds, tags
        assert page.locator(".q").count() == summary["counts"]["total"]
        # the injected tag is shown as text, not parsed into an element
        assert page.locator(".q img").count() == 0
        assert page.locator(".q").get_by_text("<img src=x onerror=", exact=False).count() == 1
        assert page.locator(".q .pair .ans").count() == 2 * summary["counts"]["total"]
        assert "docs/faq.md:33-36" in page.locator(".q").first.inner_text()
        head = page.locator("#aggregate tr").first.inner_text()
        assert "correct / partly / wrong" in head
        assert (
            f"Only {summary['counts']['total']} item(s) (fewer than 30)" in page.locator("p.note").all_inner_texts()[-1]
        )
        assert re.search(r"\[[\d.]+–[\d.]+\]", page.locator("#aggregate tr").nth(1).inner_text())
        glance = page.locator("h2:has-text('Per query at a glance') + table tr")
        assert glance.count() == 1 + sum(
            1 for r in (run / "eval" / "results.jsonl").read_text().splitlines() if '"prompt": null' not in r
        )
        assert page.locator("h2:has-text('Per query at a glance') + table .v").count() > 0
        better = page.locator("h2:has-text('Where tuned beat base') + ul a")
        if better.count():  # a highlight jumps to its query
            target = better.first.get_attribute("href")
            assert page.locator(target).count() == 1
        page.screenshot(path=str(artifacts_dir / "eval_report.png"), full_page=False)
        page.locator(".q").nth(5).screenshot(path=str(artifacts_dir / "eval_report_query.png"))
        browser.close()
    assert all(u.startswith("file://") for u in requests), requests  # self-contained: nothing fetched


def test_queries_draft_fills_from_document_sections_when_the_test_split_is_small(tmp_path):
    from test_build import ONE_PAGE, _one_page_repo

    from corpus_ft.datasets import build_dataset
    from corpus_ft.evaluate.queries import load_queries

    run = _one_page_repo(tmp_path, ONE_PAGE)
    for kind in ("qa", "paragraphs"):
        build_dataset(kind, run, generator="heuristic")
    test_qa = len((run / "datasets" / "qa" / "test.jsonl").read_text().splitlines())
    assert 0 < test_qa < 8
    res = CliRunner().invoke(main, ["queries", "draft", str(run), "--per-kind", "8"])
    assert res.exit_code == 0, res.output
    docs = 8 - test_qa
    assert (
        f"wrote 8 draft queries to {run / 'queries.draft.yaml'}: {test_qa} from the held-out test split, " in res.stderr
    )
    assert f"{docs} from document sections (the test split held only {test_qa}" in res.stderr
    text = (run / "queries.draft.yaml").read_text()
    assert f"The test split held {test_qa} question(s), too few" in text
    queries = load_queries(run / "queries.draft.yaml")
    drafted = [q for q in queries if "docs" in q["tags"]]
    assert len(queries) == 8 and len(drafted) == docs
    for q in drafted:
        assert (
            q["prompt"].startswith("What does the documentation say about ") and q["source"]["path"] == "docs/index.md"
        )
        assert q["keywords"] and all(k in q["reference"] for k in q["keywords"])


def test_queries_draft_asks_each_question_once_and_not_of_changelog_headings(tmp_path):
    """A draft evaluate refuses (two entries with one question, so one id) or questions about "Fixed" help nobody."""
    from corpus_ft.evaluate.queries import load_queries
    from corpus_ft.ingest import ingest_repo

    repo = tmp_path / "site"
    (repo / "docs").mkdir(parents=True)
    body = " ".join(f"Batch {i} is kept in region eu-{i} until operators confirm checksum {i * 7}." for i in range(6))
    (repo / "docs" / "a.md").write_text(f"# Export\n\n## Retention\n\n{body}\n", encoding="utf-8")
    (repo / "docs" / "b.md").write_text(f"# Import\n\n## Retention\n\n{body} Imports too.\n", encoding="utf-8")
    fixed = " ".join(f"Fix the export of batch {i} when its checksum {i * 3} repeats in the archive." for i in range(5))
    (repo / "CHANGELOG.md").write_text(
        f"# Changelog\n\n## 1.1\n\n### Fixed\n\n{fixed}\n\n## 1.0\n\n### Fixed\n\n{fixed}\n"
    )
    ingest_repo(repo, tmp_path / "run")
    res = CliRunner().invoke(main, ["queries", "draft", str(tmp_path / "run"), "--per-kind", "10"])
    assert res.exit_code == 0, res.output
    queries = load_queries(tmp_path / "run" / "queries.draft.yaml")  # raises on a repeated id
    prompts = [q["prompt"] for q in queries]
    assert prompts.count("What does the documentation say about Retention?") == 1, prompts
    assert not any("Fixed" in p for p in prompts) and all(q["keywords"] for q in queries)
