"""Keywords that are terms of their chunk, code summaries that say more than the name, paragraphs that
keep what they introduce: the record rules a reader who wrote none of them applies."""

from __future__ import annotations

from corpus_ft.datasets.config import BuildConfig
from corpus_ft.datasets.kinds import keywords


def _chunk(i: int, heading: str, text: str) -> dict:
    return {
        "id": f"chunk-{i:04x}",
        "unit_id": f"u{i}",
        "heading_path": ["Guide", heading],
        "path": "docs/guide.md",
        "language": "markdown",
        "start_line": 1,
        "end_line": 9,
        "text": f"## {heading}\n\n{text}",
    }


def _kws(chunks: list[dict], product: str = "") -> dict[str, list[str]]:
    return {r["source"]["unit_id"]: r["meta"]["keywords"] for r in keywords(chunks, BuildConfig(), product=product)}


def test_keywords_leave_out_ecosystem_words_product_and_lone_capitalised_words():
    text = (
        "In no_std mode, almost all of the same API is available and works the same way in Rust. "
        "To depend on Ferrite, add it to Cargo.toml and disable the JSON feature. Missing values are Err. "
        "The API is the same; Rust users read the Cargo.toml docs."
    )
    got = _kws([_chunk(1, "No-std support", text)], product="Ferrite")
    words = {k for kws in got.values() for k in kws}
    assert not words & {"API", "Rust", "Cargo.toml", "JSON", "Missing", "Err", "Ferrite"}, got


def test_a_phrase_most_chunks_use_is_not_a_term_of_one_chunk():
    chunks = [
        _chunk(
            i,
            f"Topic {name}",
            f"The ledger sync engine handles {name} records. The ledger sync engine retries "
            f"failed {name} batches and logs every {name} batch with its checksum. Its `{name}_quota` "
            f"limits how many batches run at once, and a reconciliation report lists each {name} batch "
            f"whose checksum differs from the one the upstream ledger sent, with the `{name}_quota` it used.",
        )
        for i, name in enumerate(
            [
                "invoice",
                "payment",
                "refund",
                "credit",
                "debit",
                "transfer",
                "payout",
                "fee",
                "charge",
                "dispute",
                "settlement",
                "adjustment",
            ]
        )
    ]
    got = _kws(chunks)
    assert got and all("sync engine" not in " ".join(k).lower() for k in got.values()), got


def test_no_keyword_record_from_empty_bullets_link_lists_or_pointer_stubs():
    bullets = _chunk(1, "Related projects", "Projects that build on the transport layer:\n\n- \n- \n- `retry-kit`\n")
    links = _chunk(2, "Ecosystem", "- Retry Kit\n- Ledger Bridge\n- Vault Sync\n- Token Relay\n")
    pointer = _chunk(
        3, "Vulnerability Disclosure", "The latest disclosure information can be found in our Security Policy."
    )
    assert _kws([bullets, links, pointer]) == {}


def test_a_heading_cut_short_is_not_a_keyword():
    heading = "Supporting serialization and deserialization of classes you cannot modify"
    text = (
        "Supporting serialization of classes you cannot modify needs an adapter. The adapter maps each field; "
        "the adapter registry keeps one adapter per class."
    )
    got = _kws([_chunk(1, heading, text)])
    assert all("Supporting serialization" != k for kws in got.values() for k in kws), got


# --- code summaries ----------------------------------------------------------------------------

GETTERS = '''
class Session:
    def origin(self):
        """Get the origin header."""
        return self.headers["origin"]

    def prepare_hooks(self, hooks):
        """Prepares the given hooks."""
        self.hooks = hooks

    def on_close(self):
        """Called when the connection is closed."""
        self.closed = True

    def rewind_body(self, body):
        """Move the file pointer back to its recorded start so the body can be read again on redirect."""
        body.seek(self.start)
'''


def test_thin_doc_comments_ship_no_offline_record_and_count_as_needing_a_model():
    from corpus_ft.datasets.kinds import code_summary
    from corpus_ft.datasets.measure import thin_summary
    from corpus_ft.generate.heuristic import HeuristicGenerator
    from tests.test_build_heuristic import code_units_of

    units = code_units_of(GETTERS, "python", "session.py")
    records, removed = code_summary(units, HeuristicGenerator(), BuildConfig())
    shipped = {r["meta"]["name"] for r in records}
    waiting = {r["record"]["meta"]["name"] for r in removed if r["reason"] == "needs_model_generator"}
    assert "Session.rewind_body" in shipped
    assert {"Session.origin", "Session.prepare_hooks", "Session.on_close"} <= waiting
    assert not shipped & {"Session.origin", "Session.prepare_hooks", "Session.on_close"}
    assert thin_summary("Returns the Foo.", "getFoo") and thin_summary("Parent returns the parent command.", "Parent")
    assert not thin_summary("Create a new error object from any error type.", "Error.msg")


def test_a_summary_naming_only_what_it_forwards_to_or_implements_is_thin():
    """The name qualified by its receiver, or only the interface the method satisfies, says nothing it does."""
    from corpus_ft.datasets.measure import thin_summary

    assert thin_summary("Start is a wrapper for Server.Start.", "Start")
    assert thin_summary("MarshalJSON implements the json.Marshaler interface.", "Error.MarshalJSON")
    assert not thin_summary('GET is a shortcut for router.Handle("GET", path, handlers).', "RouterGroup.GET")
    assert not thin_summary("Error implements the error interface. It joins the message with its cause.", "Error.Error")


def test_a_class_outline_names_each_member_once():
    from corpus_ft.datasets.kinds import outline

    cls = {"name": "Policy", "language": "java", "signature": "public enum Policy {", "docstring": "How names map."}
    members = [
        {"name": "Policy.translateName", "signature": "public String translateName(Field f)", "docstring": ""}
        for _ in range(4)
    ] + [{"name": "Policy.<anonymous>", "signature": "public void run()", "docstring": ""}]
    text = outline(cls, members)
    assert text.count("translateName") == 1 and "run()" not in text, text


# --- paragraphs ----------------------------------------------------------------------------------


def _section(blocks: list[tuple[str, str]]) -> dict:
    out, line = [], 3
    for kind, text in blocks:
        n = text.count("\n") + (3 if kind == "code" else 1)
        out.append({"type": kind, "text": text, "start_line": line, "end_line": line + n - 1, "lang": "python"})
        line += n + 1
    return {
        "id": "u1",
        "path": "docs/guide.md",
        "language": "markdown",
        "heading_path": ["Guide", "Hooks"],
        "start_line": 1,
        "end_line": line,
        "blocks": out,
    }


def test_a_chunk_never_ends_on_the_sentence_that_introduces_the_next_block():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    prose = "Hooks run after every response and may replace it with another response object. " * 3
    code = "def print_url(r, *args, **kwargs):\n    print(r.url)\n" * 3
    unit = _section(
        [("paragraph", prose), ("paragraph", "Register a hook with the session as follows:"), ("code", code)]
    )
    chunks = chunk_units([unit], make_splitter(420, 0, None))
    assert len(chunks) == 2, [c["text"] for c in chunks]
    assert not chunks[0]["text"].rstrip().endswith(":"), chunks[0]["text"]
    assert chunks[1]["text"].startswith("Register a hook") and "print_url" in chunks[1]["text"]


def test_an_install_stub_is_not_a_paragraph_record(tmp_path):
    from corpus_ft.datasets.chunk import chunk_units, install_stub, make_splitter

    stub = _section(
        [
            ("paragraph", "To install the client, simply run this command in your terminal:"),
            ("code", "$ python -m pip install ledger-client"),
        ]
    )
    guide = _section(
        [
            ("paragraph", "Install the client, then create a session and pass your token; " * 3),
            ("code", "pip install ledger-client\nledger login --token $TOKEN\nledger sync --all\nledger report"),
        ]
    )
    (a,), (b,) = chunk_units([stub], make_splitter(1500, 0, None)), chunk_units([guide], make_splitter(1500, 0, None))
    assert install_stub(a) and not install_stub(b)


def test_a_section_that_ends_on_an_introduction_goes_on_in_its_subsection():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    intro = _section([("paragraph", "To stay up to date on releases of the client there are several options:")])
    sub = {**_section([("paragraph", "Follow the release feed, which lists every version with its changes.")])}
    sub.update(id="u2", heading_path=["Guide", "Hooks", "Release feed"], start_line=20)
    chunks = chunk_units([intro, sub], make_splitter(1500, 0, None))
    assert len(chunks) == 1 and "several options:" in chunks[0]["text"] and "release feed" in chunks[0]["text"]
    alone = chunk_units([intro], make_splitter(1500, 0, None))
    assert len(alone) == 1, "an introduction with nothing after it keeps its text"


def test_here_is_an_example_introduces_and_a_predicate_restated_is_thin():
    from corpus_ft.datasets.chunk import introduces
    from corpus_ft.datasets.measure import thin_summary

    assert introduces("Each handler gets a context.\nHere is an example that streams a file as the response body.")
    assert not introduces("Here is the result. It is cached for an hour.")
    assert thin_summary("Returns true if the array is empty.", "JsonArray.isEmpty")
    assert not thin_summary("Returns true if `E` is the type held by this error object.", "Error.is")


def test_the_tail_of_a_heading_is_a_fragment():
    from corpus_ft.datasets.kinds import truncated_heading

    assert truncated_heading("PostRun Hooks", "PreRun and PostRun Hooks")
    assert truncated_heading("party libraries", "Routing (third party libraries support)")
    assert not truncated_heading("Parameterized Type", "InstanceCreator for a Parameterized Type")
    assert not truncated_heading("Routing", "Routing")


def test_a_summary_that_only_says_when_or_by_whom_it_is_called_is_thin():
    from corpus_ft.datasets.kinds import good_docstring
    from corpus_ft.datasets.measure import thin_summary

    assert thin_summary("Called when exiting `async with db.transaction()`", "Transaction.__aexit__")
    assert thin_summary("Both `load` and `get` call this function: it's never used elsewhere.", "Jar._find")
    assert not thin_summary("Called when the socket closes. Flushes the buffered frames to the peer.", "on_close")
    assert good_docstring("The lowest cause of this error &mdash; its cause's cause.", 3).count("\u2014") == 1


def test_an_install_stub_may_end_by_starting_the_app():
    from corpus_ft.datasets.chunk import chunk_units, install_stub, make_splitter

    stub = _section(
        [
            ("paragraph", "Install a supported runtime with your version manager:"),
            ("code", "$ nvm install 22\n$ npm i ledger-web\n$ node app.js"),
        ]
    )
    (a,) = chunk_units([stub], make_splitter(1500, 0, None))
    assert install_stub(a)


def test_the_textbook_example_passphrase_is_not_a_secret_but_other_phrases_are():
    from corpus_ft.redact import redact

    assert "correct horse battery staple" in redact('apiKey = "correct horse battery staple"', language="go")
    assert "REDACTED" in redact('apiKey = "velvet harbor quiet lantern"', language="go")


def test_a_word_inside_a_heading_word_is_not_a_cut_heading():
    from corpus_ft.datasets.kinds import truncated_heading

    assert not truncated_heading("certifi", "CA Certificates")
    assert not truncated_heading("PreRun", "PreRun and PostRun Hooks")
    assert not truncated_heading("org.json", "Comparing Gson with org.json.simple library")


def test_a_part_of_the_documentation_that_only_introduces_its_pages_makes_no_keyword_record():
    nav = _chunk(
        1,
        "The User Guide",
        "This part of the documentation, which is mostly prose, begins with background, then "
        "focuses on step-by-step instructions for getting the most out of the client.",
    )
    assert _kws([nav]) == {}


def test_a_doc_summary_cut_before_its_example_loses_the_dangling_sentence():
    from corpus_ft.datasets.kinds import good_docstring

    doc = "Take an object and test whether it maps. If it can be, return a list of tuples, e.g.,\n\n    >>> f(1)"
    assert good_docstring(doc, 2) == "Take an object and test whether it maps."


_RETRY_PROSE = (
    "The retry policy decides how often a failed request is sent again.",
    "Each attempt waits for the backoff schedule, which doubles the delay after every failure up to a cap.",
    "The backoff schedule also adds a random jitter window so that many clients do not retry at once.",
    "When the jitter window is zero, every client waits exactly as long as the schedule says.",
)


def _prose(n: int) -> str:
    """Prose about a retry policy, `n` sentences long (enough prose to anchor keywords from 3 on)."""
    return " ".join(_RETRY_PROSE[i % len(_RETRY_PROSE)] for i in range(n))


def test_keywords_are_not_api_labels_literals_or_common_words():
    text = (
        "Returns the response body. Parameters are read from the retry policy. If the body is undefined, the "
        "filter callback is skipped and `filter` is left as `null`. Missing headers are ignored.\n\n" + _prose(4)
    )
    got = _kws([_chunk(1, "Retry policy", text)])
    words = {k.lower() for kws in got.values() for k in kws}
    assert got and not words & {"returns", "parameters", "undefined", "filter", "null", "missing"}, got


def test_a_code_name_the_prose_names_once_is_not_a_keyword():
    text = _prose(4) + " Errors from the backoff schedule are wrapped in `ClusterMap` before they surface."
    got = _kws([_chunk(1, "Retry policy", text)])
    assert got and all("ClusterMap" not in kws for kws in got.values()), got


def test_no_keyword_record_from_short_prose_a_changelog_or_a_single_term():
    short = _chunk(1, "Retry policy", "The retry policy waits longer each time. See `RetryPolicy` and `RetryPolicy`.")
    release = _chunk(
        2,
        "Connection pool",
        "\n".join(
            f"- Fixed the connection pool leak in the {w} transport (#{100 + i})."
            for i, w in enumerate(["socket", "tunnel", "proxy", "stream", "pipe"])
        )
        + "\n\n"
        + _prose(3),
    )
    single = _chunk(
        3, "Notes", " ".join(["The backoff schedule waits a little longer before each new attempt is made."] * 6)
    )
    assert _kws([short, release, single]) == {}


def test_weak_keyword_counts_a_term_the_answer_never_uses_outside_code():
    from corpus_ft.datasets.measure import weak_keyword_record, weak_keywords

    answer = "Guide > Retry policy\n\n" + _prose(3) + "\n\n```python\nClusterMap(retry=3)\n```"
    record = {
        "kind": "keywords",
        "messages": [
            {"role": "user", "content": "Tell me about ClusterMap and backoff schedule."},
            {"role": "assistant", "content": answer},
        ],
        "meta": {"heading_path": ["Guide", "Retry policy"], "keywords": ["ClusterMap", "backoff schedule"]},
    }
    assert weak_keywords(record) == ["ClusterMap"]
    assert weak_keyword_record(record)


def test_one_keyword_is_enough_only_when_it_is_the_sections_multi_word_heading():
    text = (
        "Two-way nesting lets a parent and its child refer to each other by name. An author lists the books "
        "written, and every book points back at whoever wrote it. Pass the name as a string, since neither "
        "side exists yet when the other is declared. Without two-way nesting, each side would need its own copy."
    )
    assert _kws([_chunk(1, "Two-way Nesting", text)]) == {"u1": ["Two-way Nesting"]}


def test_a_name_only_inside_a_list_items_code_fence_is_not_a_keyword():
    item = (
        "- Downcasting is supported:\n\n  ```rust\n  match e.downcast_ref::<DataStoreError>() {\n"
        "      Some(DataStoreError::Censored(_)) => retry(),\n  }\n  ```\n\n"
    )
    text = item + _prose(4)
    got = _kws([_chunk(1, "Retry policy", text)])
    assert got and all("DataStoreError" not in kws for kws in got.values()), got


def test_a_chunk_opens_where_its_thought_opens_not_on_the_code_or_reply_that_leans_back():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    prose = "The Acme client keeps one session per process and reuses its connections between calls. " * 3
    unit = _section(
        [
            ("paragraph", prose),
            ("paragraph", "Does the client retry failed calls?"),
            ("paragraph", "Yes, every idempotent call is retried three times with a growing pause between tries."),
            ("paragraph", "Alternatively, turn retries off for one call by passing a zero retry budget to it."),
        ]
    )
    chunks = chunk_units([unit], make_splitter(420, 0, None))
    assert len(chunks) == 2, [c["text"] for c in chunks]
    assert chunks[1]["text"].startswith("Does the client retry"), chunks[1]["text"]
    code = "client = acme.Client(token)\nclient.sync(all=True)\n" * 4
    unit = _section([("paragraph", prose), ("paragraph", "A client syncs every ledger it can see."), ("code", code)])
    first, second = chunk_units([unit], make_splitter(420, 0, None))
    assert second["text"].startswith("A client syncs") and "client.sync" in second["text"]


def test_the_introduction_moves_on_even_when_its_whole_thought_does_not_fit():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    code = "ledger = acme.open(path)\nledger.replay(since=0)\n" * 5
    unit = _section(
        [
            ("paragraph", "Replaying rebuilds every balance from the first event. " * 2),
            ("code", code),
            ("paragraph", "Test it with:"),
            ("code", "$ acme replay --dry-run\n" * 6),
        ]
    )
    chunks = chunk_units([unit], make_splitter(500, 0, None))
    assert len(chunks) == 2, [c["text"] for c in chunks]
    assert not chunks[0]["text"].rstrip().endswith("Test it with:"), chunks[0]["text"]
    assert chunks[-1]["text"].startswith("Test it with:")


def test_a_section_cut_to_a_lone_heading_keeps_its_heading_with_its_introduction():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    code = "import acme\n" + "acme.register(hook)\n" * 30
    unit = _section(
        [("heading", "Adding hooks"), ("paragraph", "You may add your own hooks, which is easy:"), ("code", code)]
    )
    chunks = chunk_units([unit], make_splitter(400, 0, None), min_prose_words=0)
    assert all(c["text"].strip() != "# Adding hooks" for c in chunks), [c["text"] for c in chunks]


def test_no_record_from_a_chunk_that_opens_mid_thought_or_is_a_stub():
    from corpus_ft.datasets.chunk import make_splitter, opens_mid_thought, stub

    def chunk(*blocks):
        return {"text": "\n\n".join(t for _k, t in blocks), "blocks": [{"type": k, "text": t} for k, t in blocks]}

    assert opens_mid_thought(chunk(("paragraph", "Secondly, retries on old servers need a longer pause.")))
    assert opens_mid_thought(chunk(("paragraph", "This will fail with an exception like the one below.")))
    assert opens_mid_thought(chunk(("list_item", "- `--help`: the long help.")))
    assert opens_mid_thought(chunk(("paragraph", "you can pass the flag twice instead, with a longer pause.")))
    assert opens_mid_thought(chunk(("admonition", "Note: the token has to be set first.")))
    assert opens_mid_thought(chunk(("paragraph", "First, read the previous question's answer about retries.")))
    assert opens_mid_thought(chunk(("heading", "Other form"), ("paragraph", "In the above examples, a list.")))
    assert not opens_mid_thought(chunk(("heading", "Sessions"), ("paragraph", "This crate keeps one session.")))
    assert not opens_mid_thought(chunk(("paragraph", "The Acme client keeps one session per process.")))
    splitter = make_splitter(1500, 0, None)
    assert stub(chunk(("heading", "Hooks"), ("paragraph", "You may not need any of them at all.")), splitter)
    long = "The ledger keeps every payment event in the order it arrived and never rewrites it. " * 3
    assert not stub(chunk(("heading", "Ledger"), ("paragraph", long)), splitter)
    assert not stub(chunk(("heading", "Run"), ("paragraph", "Run it:"), ("code", "acme run")), splitter)
    helped = (
        "See the user guide for the full documentation of every Acme feature, its settings and its command line. "
        "For help with a failing build or a question about a setting, please use the forum."
    )
    assert stub(chunk(("heading", "Getting help"), ("paragraph", helped)), splitter)
    quick = (  # "read" and "see" as instructions about data, not pointers to other pages
        "Post your first entry with the client and read it back by id. You will see the amount you sent, "
        "the currency and the value date exactly as the ledger stored them."
    )
    assert not stub(chunk(("heading", "Quickstart"), ("paragraph", quick)), splitter)


def test_a_code_samples_own_names_and_an_all_generic_heading_are_not_keywords():
    from corpus_ft.datasets.kinds import example_name, generic_heading, specific_keywords

    text = "Create a store.\n\n```ts\nconst useAcmeStore = create(() => ({}))\nobjA := formA{}\n```\n"
    assert example_name("useAcmeStore", text) and example_name("objA", text)
    assert example_name("main.go", text) and example_name("foo.md", text) and example_name("my-script", text)
    assert not example_name("create", text) and not example_name("acme.yml", text)
    assert not example_name("encoding.TextUnmarshaler", text)
    assert generic_heading("Basic usage") and generic_heading("More examples") and generic_heading("Best practices")
    assert not generic_heading("Static Files")
    assert specific_keywords(["Acme settings", "ledger sync"], "Sync", "acme-settings", set()) == ["ledger sync"]


def test_the_mid_thought_signal_counts_a_passage_opening_on_a_connective_or_a_pointer_back():
    from corpus_ft.datasets.measure import mid_thought_text

    def rec(text):
        return {"kind": "paragraphs", "text": text, "meta": {"heading_path": ["Guide", "Retries"]}}

    assert mid_thought_text(rec("Guide > Retries\n\nSecondly, retries on old servers need a longer pause."))
    assert mid_thought_text(rec("Guide > Retries\n\nIn the above examples, each hook is a function."))
    assert not mid_thought_text(rec("Guide > Retries\n\nThis page shows how retries are paced for a client."))
    assert not mid_thought_text(rec("Guide > Retries\n\n```\nacme --retries 3\n```\n\nThen read on."))


def test_a_directory_of_names_whose_links_were_removed_makes_no_keyword_record():
    from corpus_ft.datasets.kinds import keyword_worthy

    listing = (
        "Acme servers take handlers from several places. These are the ones we know of:\n"
        "- acme-contrib - Extra handlers, among them:\n"
        "  - Authentication (tokens, sessions)\n"
        "  - Rate limiting, compression\n"
        "- acme-extras - More handlers from users\n"
        "- acme-metrics - Counters for Acme servers"
    )
    guide = (
        "Middleware wraps every handler of the Acme server. Register it once on the router and it runs before "
        "each handler, in the order it was added, so a logger added first sees every request, even one another "
        "middleware rejects. Each middleware receives the context and calls next to go on:\n"
        "- a logger - writes one line per request\n"
        "- a limiter - rejects a client over its budget"
    )
    assert not keyword_worthy({"text": listing, "blocks": [{"type": "paragraph", "text": listing}]})
    assert keyword_worthy({"text": guide, "blocks": [{"type": "paragraph", "text": guide}]})


def test_a_phrase_headed_by_a_doc_page_word_is_a_keyword_only_as_the_sections_heading():
    from corpus_ft.datasets.kinds import keyword_fits

    prose = "The ledger is a quick solution for audits. A quick solution keeps every event. " * 2
    assert not keyword_fits("quick solution", "Ledger", ["Guide", "Ledger"], prose, "acme", set())
    guide = "The migration guide lists every renamed setting. Read the migration guide before upgrading. " * 2
    assert keyword_fits("migration guide", "Migration guide", ["Guide", "Migration guide"], guide, "acme", set())
