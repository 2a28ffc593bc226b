"""`corpus-ft evaluate`: queries files, metrics, judge parsing, and a real base-vs-tuned run.

The model tests use the real tiny Llama and a real LoRA adapter trained for a few dozen
optimizer steps with a plain torch loop on the run's train split, so the held-out test split
is new text of the same domain: its perplexity must fall under the tuned model.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.evaluate import EvalConfig, evaluate, load_probes
from corpus_ft.evaluate.judge import parse
from corpus_ft.evaluate.metrics import keyword_recall, rouge_l, token_f1
from corpus_ft.evaluate.queries import load_queries
from corpus_ft.util import CorpusFtError

SERVICES = ["billing", "search", "auth", "gateway", "ledger", "mailer", "scheduler", "indexer", "cache", "reports"]
SYSTEM = "You answer questions about the Acme repository."


# --- queries files: validation before any model loads -------------------------------------

def test_yaml_queries_are_normalised(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("queries:\n"
                    "  - query: How do I restart billing?\n"
                    "    reference: Run make restart-billing.\n"
                    "    keywords: [restart-billing]\n"
                    "    identifiers: make\n"
                    "    tags: ops, billing\n"
                    "    source: docs/billing.md:3-9\n"
                    "  - {query: \"Who owns search?\", id: own-1}\n")
    q = load_queries(path, system_prompt="sys")
    assert [x["origin"] for x in q] == [f"{path}:2", f"{path}:8"]
    assert q[0]["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "How do I restart billing?"}]
    assert q[0]["keywords"] == ["restart-billing", "make"] and q[0]["tags"] == ["ops", "billing"]
    assert q[0]["source"] == {"path": "docs/billing.md", "start_line": 3, "end_line": 9}
    assert q[1]["id"] == "own-1" and q[1]["reference"] is None


@pytest.mark.parametrize("name, text, where, words", [
    ("syntax.yaml", '- query: ok\n- query: "unterminated\n  tags: [a\n', ":4", "not valid YAML"),
    ("missing.yaml", "- query: ok\n- reference: no question\n  tags: [x]\n", ":2", "missing `query`"),
    ("unknown.yaml", "- query: ok\n\n- query: b\n  refrence: typo\n", ":3", "unknown key(s) refrence"),
    ("keywords.yaml", "- query: ok\n  keywords: {a: 1}\n", ":1", "`keywords` must be a list"),
    ("notalist.yaml", "query: just one\n", ":1", "expected a list of queries"),
    ("bad.jsonl", '{"query": "a"}\n\n{"query": oops}\n', ":3", "not valid JSON"),
    ("missing.jsonl", '{"query": "a"}\n{"reference": "b"}\n', ":2", "missing `query`"),
    ("dup.jsonl", '{"query": "a", "id": "x"}\n{"query": "b", "id": "x"}\n', ":2", "duplicate id 'x'"),
])
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


def test_judge_parse_is_robust():
    good = ('Sure!\n```json\n{"A": {"relevance": 4, "coherence": 5, "factuality": 3, "helpfulness": 4},\n'
            '"B": {"Relevance": "2", "coherence": 2, "factuality": 1, "helpfulness": 2}, "preferred": "a",'
            ' "reason": "A cites the runbook"}\n```')
    p = parse(good)
    assert p["preferred"] == "A" and p["A"]["coherence"] == 5 and p["B"]["relevance"] == 2
    no_pref = '{"A": {"relevance": 1, "coherence": 1, "factuality": 1, "helpfulness": 1}, ' \
              '"B": {"relevance": 3, "coherence": 3, "factuality": 3, "helpfulness": 3}}'
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


# --- a real run: tiny Llama + a LoRA adapter trained here ---------------------------------------

def _record(kind: str, split: str, i: int, svc: str) -> dict:
    rec = {"id": f"{kind}-{split}-{i}", "kind": kind,
           "source": {"path": f"docs/{svc}.md", "start_line": 3, "end_line": 4, "unit_id": f"unit-{svc}"},
           "meta": {"generator": "test", "version": "1", "language": "markdown"}}
    if kind == "paragraphs":
        rec["text"] = f"The {svc} service runs on three hosts. Restart it with make restart-{svc} and check /healthz."
    else:
        rec["messages"] = [{"role": "system", "content": SYSTEM},
                           {"role": "user", "content": f"How do I restart the {svc} service?"},
                           {"role": "assistant", "content": f"Run make restart-{svc} on the {svc} host, then check /healthz."}]
        rec["meta"]["keywords"] = [f"restart-{svc}", "healthz"]
    return rec


def _write_run(run: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for kind in ("paragraphs", "qa"):
        d = run / "datasets" / kind
        d.mkdir(parents=True)
        for split, svcs in (("train", SERVICES[:7]), ("test", SERVICES[7:])):
            rows = [_record(kind, split, i, s) for i, s in enumerate(svcs)]
            (d / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    units = [{"id": f"unit-{s}", "text": f"# {s}\n\n{s} runs on three hosts.\nRestart: make restart-{s}.\nSee also.\n",
              "path": f"docs/{s}.md", "start_line": 1, "end_line": 5} for s in SERVICES]
    pq.write_table(pa.Table.from_pylist(units), run / "units.parquet")


def _adapter(model_dir: Path, out: Path, texts: list[str], steps: int) -> Path:
    """A LoRA adapter after `steps` real AdamW steps on `texts` (0 steps: B is still zero)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                           LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for step in range(steps):
        ids = tok(texts[step % len(texts)], return_tensors="pt", add_special_tokens=False)["input_ids"]
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model's ops are too small to gain from 2 threads, and on a shared 2-core machine
    two spinning threads run ~3x slower than one; restored after this module."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from corpus_ft.train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("eval-model") / "tiny")


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, tiny) -> Path:
    """A run with qa/paragraphs splits and an adapter trained on the train split."""
    from transformers import AutoTokenizer

    run = tmp_path_factory.mktemp("eval") / "run"
    _write_run(run)
    tok = AutoTokenizer.from_pretrained(tiny)
    texts = []
    for kind in ("qa", "paragraphs"):
        for line in (run / "datasets" / kind / "train.jsonl").read_text().splitlines():
            rec = json.loads(line)
            texts.append(rec.get("text") or tok.apply_chat_template(rec["messages"], tokenize=False))
    _adapter(tiny, run / "model" / "adapter", texts, steps=16)
    return run


QUERIES = """\
# custom domain queries: the second one tries to inject markup into the report
- query: How do I restart the billing service?
  reference: Run make restart-billing on the billing host, then check /healthz.
  keywords: [restart-billing, healthz]
  tags: [ops]
  source: docs/billing.md:3-9
- query: "What does <img src=x onerror=\\"document.title='pwned'\\"> do?"
  tags: [security]
"""


@pytest.fixture(scope="module")
def evaluated(eval_run, tmp_path_factory) -> tuple[Path, dict]:
    queries = tmp_path_factory.mktemp("q") / "queries.yaml"
    queries.write_text(QUERIES)
    summary = evaluate(eval_run, EvalConfig(queries=queries, test_sample=3, max_new_tokens=12,
                                            system_prompt=SYSTEM, batch_size=4))
    return eval_run, summary


@pytest.mark.slow
def test_tuned_beats_base_on_held_out_perplexity(evaluated):
    run, s = evaluated
    out = run / "eval"
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.md", "results.jsonl", "ratings.csv",
                                               "summary.json", "manifest.json"}
    for kind in ("qa", "paragraphs"):
        agg = s["aggregate"]["kinds"][kind]
        assert agg["n"] == 3
        assert agg["tuned"]["ppl"] < agg["base"]["ppl"], (kind, agg)
    assert s["aggregate"]["test"]["tuned"]["ppl"] < s["aggregate"]["test"]["base"]["ppl"]
    assert s["decoding"] == {"max_new_tokens": 12, "greedy": True, "temperature": 0.0, "top_p": 1.0, "seed": 0,
                             "batch_size": 4, "max_length": 1024}
    assert s["counts"] == {"queries": 2, "test": {"paragraphs": 3, "qa": 3}, "total": 8}
    assert s["missing_kinds"].keys() == {"keywords", "code_summary"}
    assert s["adapter_check"]["max_abs_logit_diff"] > 0 and s["tiny_model"] is True
    f = s["forgetting"]
    assert f["n"] == len(load_probes()) and f["base_ppl"] > 0 and f["tuned_ppl"] > 0
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    qa = next(r for r in rows if r["kind"] == "qa")
    assert qa["base"]["answer"] is not None and qa["tuned"]["new_tokens"] <= 12
    assert qa["source_text"] == "indexer runs on three hosts.\nRestart: make restart-indexer."  # lines 3-4 of the unit
    assert qa["keywords"] == ["restart-indexer", "healthz"] and qa["tags"] == ["markdown"]
    assert rows[0]["source_text"] == "billing runs on three hosts.\nRestart: make restart-billing.\nSee also."  # by path:3-9
    para = next(r for r in rows if r["kind"] == "paragraphs")
    assert "answer" not in para["base"] and para["base"]["ppl"] > para["tuned"]["ppl"]
    with open(out / "ratings.csv", newline="") as fh:
        sheet = list(csv.DictReader(fh))
    assert [r["id"] for r in sheet] == [r["id"] for r in rows]
    assert all(r[c] == "" for r in sheet for c in ("rater", "base_score", "tuned_score", "preferred", "comment"))
    md = (out / "report.md").read_text()
    assert "| kind: qa | 3 |" in md and "docs/billing.md:3-9" in md and "Where tuned did worse" in md


@pytest.mark.slow
def test_same_settings_give_the_same_answers(evaluated, tmp_path):
    run, _ = evaluated
    again = tmp_path / "run"
    shutil.copytree(run, again, ignore=shutil.ignore_patterns("eval"))
    evaluate(again, EvalConfig(test_sample=3, max_new_tokens=12, batch_size=2, kinds=["qa"]))
    first = {r["id"]: r for r in map(json.loads, (run / "eval" / "results.jsonl").read_text().splitlines())}
    for r in map(json.loads, (again / "eval" / "results.jsonl").read_text().splitlines()):
        for side in ("base", "tuned"):  # greedy + a different batch size: same answers, same perplexity
            assert r[side]["answer"] == first[r["id"]][side]["answer"]
            assert r[side]["ppl"] == pytest.approx(first[r["id"]][side]["ppl"], rel=1e-4)


@pytest.mark.slow
def test_untrained_adapter_is_an_error_not_a_tie(eval_run, tiny, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(eval_run, run, ignore=shutil.ignore_patterns("eval", "model"))
    _adapter(tiny, run / "model" / "adapter", [], steps=0)  # fresh LoRA: B = 0
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
    assert json.loads((run / "eval" / "results.jsonl").read_text().splitlines()[2]) == \
        json.loads(results_before.splitlines()[2]) | {"human": []}
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
def test_judge_over_a_real_openai_compatible_server(evaluated, tiny, tmp_path):
    """The tiny model cannot write rubric JSON: every judgment is recorded as unparseable, with its raw reply."""
    from corpus_ft.generate.server import serve_in_background

    src, _ = evaluated
    run = tmp_path / "run"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("eval"))
    with serve_in_background(tiny, model_name="judge") as url:
        s = evaluate(run, EvalConfig(test_sample=2, kinds=["qa"], max_new_tokens=6, judge_url=url,
                                     judge_model="judge", judge_max_tokens=16))
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
    verdict = json.dumps({"A": dict.fromkeys(("relevance", "coherence", "factuality", "helpfulness"), 5),
                          "B": dict.fromkeys(("relevance", "coherence", "factuality", "helpfulness"), 1),
                          "preferred": "A", "reason": "A is grounded"})

    async def chat(request):
        seen.append((await request.json())["messages"][0]["content"])
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": verdict}}]})

    src, _ = evaluated
    run = tmp_path / "run"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("eval"))
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with run_in_background(app) as url:
        s = evaluate(run, EvalConfig(test_sample=3, kinds=["qa"], max_new_tokens=6, seed=3,
                                     judge_url=url, judge_model="scripted"))
    assert s["judge"]["judged"] == 3 and s["judge"]["unparseable"] == 0
    rows = [json.loads(x) for x in (run / "eval" / "results.jsonl").read_text().splitlines()]
    for r in rows:
        first = r["judge"]["order"][0]
        assert r["judge"]["preferred"] == first and r[first]["judge"] == 5.0
        assert r["judge"][first]["factuality"] == 5 and r["judge"]["reason"] == "A is grounded"
    assert sum(s["judge"]["preferred"].values()) == 3
    assert len(seen) == 3 and all("tuned" not in p and "base model" not in p for p in seen)
    assert "Source excerpt (docs/" in seen[0] and "Restart: make restart-" in seen[0]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="headless Chromium not installed (`make test-deps` installs it with apt)")
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
        assert page.locator("h2").all_inner_texts()[:3] == ["Setup", "Aggregate", "Forgetting check"]
        rows = page.locator("h2:has-text('Aggregate') + p + table tr")
        assert rows.count() == 1 + len(["all", "queries", "test"]) + 3 + 3  # + kinds query/qa/paragraphs, tags
        assert page.locator(".q").count() == summary["counts"]["total"]
        # the injected tag is shown as text, not parsed into an element
        assert page.locator(".q img").count() == 0
        assert page.get_by_text("<img src=x onerror=", exact=False).count() == 1
        assert page.locator(".q .pair .ans").count() == 2 * summary["counts"]["total"]
        assert "docs/billing.md:3-9" in page.locator(".q").first.inner_text()
        better = page.locator("h2:has-text('Where tuned beat base') + ul a")
        if better.count():  # a highlight jumps to its query
            target = better.first.get_attribute("href")
            assert page.locator(target).count() == 1
        page.screenshot(path=str(artifacts_dir / "eval_report.png"), full_page=False)
        page.locator(".q").nth(2).screenshot(path=str(artifacts_dir / "eval_report_query.png"))
        browser.close()
    assert all(u.startswith("file://") for u in requests), requests  # self-contained: nothing fetched
