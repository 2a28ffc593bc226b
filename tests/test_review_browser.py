"""The review web app in a real headless Chromium: decide on real records, restart the server,
see the decisions again, and find them applied by the next `build --apply-review`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_review import make_run

from corpus_ft.cli import main
from corpus_ft.decisions import decisions_path, load_decisions
from corpus_ft.review import write_report
from corpus_ft.review.server import ServerThread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="headless Chromium not installed (`make test-deps` installs it with apt)"
    ),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx.new_page()
    ctx.close()


@pytest.fixture
def run(built_run, copy_run) -> Path:
    return copy_run(built_run)


def _open(page, url: str):
    page.goto(url)
    page.wait_for_selector("#records article")
    return page.locator("#records article")


def _flag(page, rid: str) -> str:
    return page.locator(f'#records article[data-id="{rid}"] .flag').inner_text()


def _wait_all(page, predicate: str) -> None:
    """Wait until the browser lists records and every one satisfies the JS predicate."""
    page.wait_for_function(
        f"(() => {{ const a = [...document.querySelectorAll('#records article')];"
        f" return a.length > 0 && a.every({predicate}); }})()"
    )


def _wait_flag(page, rid: str, flag: str) -> None:
    page.wait_for_function(
        "([rid, flag]) => document.querySelector(`#records article[data-id='${rid}'] .flag`)?.textContent === flag",
        arg=[rid, flag],
    )


def test_decide_restart_and_apply_review(page, run, artifacts_dir):
    with ServerThread(run) as srv:
        page.goto(srv.url)
        page.select_option("#filters select[name=kind]", "qa")
        _wait_all(page, "a => a.dataset.id.startsWith('qa-')")
        cards = page.locator("#records article")
        ids = [cards.nth(i).get_attribute("data-id") for i in range(3)]
        assert all(i.startswith("qa-") for i in ids)
        cards.nth(0).get_by_role("button", name="Accept").click()
        _wait_flag(page, ids[0], "accepted")
        cards.nth(1).get_by_role("button", name="Reject").click()
        _wait_flag(page, ids[1], "rejected")
        card = page.locator(f'#records article[data-id="{ids[2]}"]')
        card.get_by_role("button", name="Edit").click()
        card.locator("textarea").last.fill("Edited by a reviewer: <b>restart</b> the service.")
        card.get_by_role("button", name="Save edit").click()
        _wait_flag(page, ids[2], "edited")
        assert "Edited by a reviewer: <b>restart</b>" in card.inner_text()  # shown as text, not markup
        card.locator("summary").click()
        assert "original (before the edit)" in card.inner_text()

    decisions = load_decisions(run)
    assert {rid: d["action"] for rid, d in decisions.items()} == dict(zip(ids, ["accept", "reject", "edit"]))

    with ServerThread(run) as srv:  # a restart: the page shows the decisions made before it
        page.goto(srv.url)
        page.select_option("#filters select[name=kind]", "qa")
        page.wait_for_selector(f'#records article[data-id="{ids[2]}"]')
        assert [_flag(page, i) for i in ids] == ["accepted", "rejected", "edited"]
        page.select_option("#filters select[name=flag]", "rejected")
        page.wait_for_function("document.querySelector('#range').textContent.startsWith('1–1 of 1')")
        assert page.locator("#records article").first.get_attribute("data-id") == ids[1]
        page.select_option("#filters select[name=flag]", "")
        page.wait_for_selector(f'#records article[data-id="{ids[2]}"]')
        assert "1 accepted, 1 rejected, 1 edited" in page.locator("#kind-qa").inner_text()
        page.screenshot(path=str(artifacts_dir / "review_page.png"))
        page.evaluate("document.getElementById('browser').scrollIntoView()")
        page.screenshot(path=str(artifacts_dir / "review_browser.png"))

    result = CliRunner().invoke(main, ["build", "qa", "--run", str(run), "--apply-review", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads((run / "datasets" / "qa" / "stats.json").read_text())
    assert stats["review"]["rejected"] == 1 and stats["review"]["edited"] == 1
    records = {
        json.loads(line)["id"]: json.loads(line)
        for split in ("train", "validation", "test")
        for line in (run / "datasets" / "qa" / f"{split}.jsonl").read_text().splitlines()
    }
    assert ids[1] not in records and ids[0] in records
    assert records[ids[2]]["messages"][-1]["content"] == "Edited by a reviewer: <b>restart</b> the service."
    assert "Review decisions applied: 1 rejected, 1 edited." in (run / "datasets" / "qa" / "card.md").read_text()


def test_two_tabs_deciding_at_once_keep_both_decisions(browser, run):
    ctx = browser.new_context()
    try:
        with ServerThread(run) as srv:
            tabs = [ctx.new_page(), ctx.new_page()]
            for tab in tabs:
                _open(tab, srv.url)
            first = tabs[0].locator("#records article").nth(0)
            second = tabs[1].locator("#records article").nth(1)
            ids = [first.get_attribute("data-id"), second.get_attribute("data-id")]
            # fire both clicks before waiting on either, so the two POSTs overlap
            tabs[0].evaluate("b => b.click()", first.get_by_role("button", name="Reject").element_handle())
            tabs[1].evaluate("b => b.click()", second.get_by_role("button", name="Accept").element_handle())
            for tab, rid, want in zip(tabs, ids, ["rejected", "accepted"]):
                _wait_flag(tab, rid, want)
            tabs[0].reload()
            tabs[0].wait_for_selector(f'#records article[data-id="{ids[1]}"]')
            assert _flag(tabs[0], ids[0]) == "rejected" and _flag(tabs[0], ids[1]) == "accepted"
    finally:
        ctx.close()
    lines = decisions_path(run).read_text().splitlines()
    assert sorted(json.loads(x)["record_id"] for x in lines) == sorted(ids)


def test_filters_search_and_paging_match_the_data(page, run):
    qa_train = [json.loads(x)["id"] for x in (run / "datasets" / "qa" / "train.jsonl").read_text().splitlines()]
    with ServerThread(run) as srv:
        _open(page, srv.url)
        page.select_option("#filters select[name=kind]", "qa")
        page.select_option("#filters select[name=split]", "train")
        page.wait_for_function(f"document.querySelector('#range').textContent.endsWith('of {len(qa_train)}')")
        shown = page.locator("#records article").evaluate_all("els => els.map(e => e.dataset.id)")
        assert shown == qa_train[:20]
        if len(qa_train) > 20:
            page.click("#next")
            page.wait_for_function("document.querySelector('#range').textContent.startsWith('21–')")
        page.click("#browser h2")  # keyboard review: j j r rejects the second record on the page
        for key in "jjr":
            page.keyboard.press(key)
        second = page.locator("#records article").nth(1).get_attribute("data-id")
        _wait_flag(page, second, "rejected")
        assert "current" in page.locator("#records article").nth(1).get_attribute("class")
        assert [d["action"] for d in load_decisions(run).values()] == ["reject"]
        needle = json.loads((run / "datasets" / "qa" / "train.jsonl").read_text().splitlines()[0])["messages"][1][
            "content"
        ][:30]
        page.fill("#filters input[name=q]", needle)
        _wait_all(
            page, f"a => a.querySelector('.rec').textContent.toLowerCase().includes({json.dumps(needle.lower())})"
        )
        assert page.locator("#range").inner_text().startswith("1–")


def test_record_html_is_shown_as_text_and_nothing_is_fetched_from_the_network(page, tmp_path):
    run = make_run(tmp_path)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    with ServerThread(run) as srv:
        articles = _open(page, srv.url)
        assert articles.count() == 20
        assert page.evaluate("window.__pwned") is None
        assert "<script>window.__pwned = 1</script>" in page.locator("#records").inner_text()
        assert all(u.startswith(srv.url) or u.startswith("data:") for u in requests), requests
    page.goto(write_report(run).as_uri())
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#browser").count() == 0 and page.locator(".chart svg rect").count() > 3


def test_origin_filter_lists_augmented_records_with_their_badge(page, run):
    """datasets.augment's records carry an "augmented: OP" badge; the origin filter separates them."""
    from corpus_ft.datasets import build_dataset

    build_dataset("qa", run, generator="heuristic", augment={"offline": ["question_templates"]})
    with ServerThread(run) as srv:
        _open(page, srv.url)
        page.select_option("#filters select[name=origin]", "augmented")
        _wait_all(page, "a => a.querySelector('.badge-augmented')?.textContent === 'augmented: question_templates'")
        page.select_option("#filters select[name=origin]", "original")
        _wait_all(page, "a => !a.querySelector('.badge-augmented')")


def _human_click(page, locator, hold_ms: int = 250) -> None:
    """Press, hold as a person does, release: what a list reload between press and release breaks."""
    box = None
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(20):  # a late search reload may redraw the card just before the press: find it again
        try:
            locator.wait_for(state="visible")
            locator.scroll_into_view_if_needed()
            box = locator.bounding_box()
        except PlaywrightError:  # the card was replaced between finding and scrolling: a person looks again
            box = None
        if box:
            break
        page.wait_for_timeout(100)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(hold_ms)
    page.mouse.up()


def test_reject_right_after_typing_a_search_is_saved_and_shown(page, run):
    qa = [json.loads(x) for x in (run / "datasets" / "qa" / "train.jsonl").read_text().splitlines()]
    target = qa[0]
    needle = target["messages"][1]["content"][:25]
    with ServerThread(run) as srv:
        _open(page, srv.url)
        page.select_option("#filters select[name=kind]", "qa")
        page.fill("#filters input[name=q]", needle)  # focus stays in the search box
        page.wait_for_selector(f'#records article[data-id="{target["id"]}"]')
        page.wait_for_function("document.querySelector('#status').textContent === ''")
        button = page.locator(f'#records article[data-id="{target["id"]}"] button.reject')
        _human_click(page, button)  # the press blurs the search box: its change event must not eat the click
        page.wait_for_function(
            "rid => document.querySelector(`#records article[data-id='${rid}'] .flag`)?.textContent === 'rejected'",
            arg=target["id"],
            timeout=30_000,
        )
        assert {r: d["action"] for r, d in load_decisions(run).items()} == {target["id"]: "reject"}
        # typing again and deciding before the debounced search has run: the decision and the card still hold
        other = next(r for r in qa[1:] if r["messages"][1]["content"][:25] != needle)
        words = other["messages"][1]["content"][:25]
        page.fill("#filters input[name=q]", words[:-1])
        page.wait_for_selector(f'#records article[data-id="{other["id"]}"]')
        page.wait_for_function("document.querySelector('#status').textContent === ''")
        page.locator("#filters input[name=q]").press("End")
        page.keyboard.type(words[-1])  # a search that still matches, whose reload lands during the click
        _human_click(page, page.locator(f'#records article[data-id="{other["id"]}"] button.accept'), hold_ms=400)
        _wait_flag(page, other["id"], "accepted")
        page.wait_for_timeout(500)  # any reload in flight has landed: the card must still show the saved state
        assert _flag(page, other["id"]) == "accepted"
    assert load_decisions(run)[other["id"]]["action"] == "accept"


def test_a_rejection_applied_by_a_build_can_be_found_and_undone(page, run):
    import urllib.request

    with ServerThread(run) as srv:
        page.goto(srv.url)
        page.select_option("#filters select[name=kind]", "qa")
        _wait_all(page, "a => a.dataset.id.startsWith('qa-')")
        rid = page.locator("#records article").nth(2).get_attribute("data-id")
        page.locator(f'#records article[data-id="{rid}"] button.reject').click()
        _wait_flag(page, rid, "rejected")
    split = next(
        s for s in ("train", "validation", "test") if rid in (run / "datasets" / "qa" / f"{s}.jsonl").read_text()
    )
    res = CliRunner().invoke(main, ["build", "qa", "--run", str(run), "--apply-review"])
    assert res.exit_code == 0, res.output
    assert rid not in (run / "datasets" / "qa" / f"{split}.jsonl").read_text()

    with ServerThread(run) as srv:  # the next session: the applied rejection is still there to undo
        with urllib.request.urlopen(srv.url + "api/records?flag=rejected") as r:
            listed = json.load(r)
        assert [it["id"] for it in listed["items"]] == [rid] and listed["items"][0]["left_out"] is True
        assert listed["items"][0]["split"] == split
        page.goto(srv.url)
        page.select_option("#filters select[name=flag]", "rejected")
        page.wait_for_function("document.querySelector('#range').textContent.startsWith('1–1 of 1')")
        card = page.locator(f'#records article[data-id="{rid}"]')
        assert "left out by the last build" in card.inner_text()
        card.get_by_role("button", name="Accept").click()
        _wait_flag(page, rid, "accepted")
    res = CliRunner().invoke(main, ["build", "qa", "--run", str(run), "--apply-review"])
    assert res.exit_code == 0, res.output
    assert rid in (run / "datasets" / "qa" / f"{split}.jsonl").read_text(), "the undone rejection is back in its split"
