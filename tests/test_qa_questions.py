"""Overview questions a user would ask, from the shape of a section's heading: a task is "How do I ...?",
a code name "What does `name` do?", a concept "What are ...?" / "How does ... work?"; a heading that
names no subject borrows its parent's or makes no pair; never the generic "What does the X
documentation say about Y?", a parent glued on in parentheses, or the product named twice."""

from __future__ import annotations

from corpus_ft.datasets.measure import vague_question
from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.heuristic import HeuristicGenerator

PROSE = (
    "Hooks are functions that a plugin registers so that the host can call them at fixed points. "
    "The host collects every implementation and calls them in order when the event happens.\n\n"
    "Each implementation receives the arguments the specification names and returns a value the host gathers.\n"
)


def _questions(*heads: str, product: str = "Tern", text: str = PROSE) -> list[str]:
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=8))
    chunk = {"id": "c1", "unit_id": "u1", "heading_path": list(heads), "product": product, "text": text}
    return [p["question"] for p in gen.questions([chunk])[0]]


def _overview(*heads: str, product: str = "Tern", text: str = PROSE) -> list[str]:
    """The questions a section's whole prose answers (not those made from one of its sentences)."""
    return [q for q in _questions(*heads, product=product, text=text) if not q.startswith("In ")]


def test_a_task_heading_asks_how_with_its_verb_in_base_form():
    assert "How do I define and collect hooks in Tern?" in _overview("Tern", "Define and collect hooks")
    assert "How do I write hooks in Tern?" in _overview("Tern", "Writing hooks")
    assert "How do I install Tern?" in _overview("Tern", "Installation")
    assert "How do I install Tern?" in _overview("Tern", "Installing Tern")


def test_a_concept_heading_asks_what_it_is_or_how_it_works():
    assert "What are hook specifications in Tern?" in _overview("Tern", "Hook Specifications")
    assert "How does hook ordering work in Tern?" in _overview("Tern", "Hook ordering")
    assert "What does `pm.hook` do in Tern?" in _overview("Tern", "`pm.hook`")
    assert "What is Tern?" in _overview("Tern")


def test_a_heading_with_no_subject_borrows_its_parents_or_makes_no_overview():
    assert "What are hook specifications in Tern?" in _overview("Tern", "Hook Specifications", "Examples")
    assert _overview("Tern", "v2.0.1") == []
    assert _overview("Tern", "tern: Java HTML Parser") == []


def test_no_generic_glued_or_doubled_question():
    for heads in (
        ("Tern", "Define and collect hooks"),
        ("Tern", "Hooks", "Overview"),
        ("Databases", "Databases"),
        ("Tern", "Plugins", "Hook Specifications"),
    ):
        product = heads[0]
        for q in _questions(*heads, product=product):
            assert "say about" not in q and "(" not in q, q
            assert not vague_question(q), q


def test_an_api_heading_asks_what_the_name_does():
    assert "What does `app.listen()` do in Tern?" in _overview("Application", "app.listen(...)")
    assert "What does `ctx.throw()` do in Tern?" in _overview("Context", "ctx.throw([status], [msg], [properties])")
    assert "How do I set `request.query` in Tern?" in _overview("Request", "request.query=")


def test_a_symptom_on_a_troubleshooting_page_asks_how_to_fix_it():
    assert "What should I do if custom type adapter is not used in Tern?" in _overview(
        "Troubleshooting Guide", "Custom type adapter is not used"
    )
    assert "How do I fix `JsonIOException`: 'Abstract classes can't be instantiated!' in Tern?" in _overview(
        "Troubleshooting Guide", "`JsonIOException`: 'Abstract classes can't be instantiated!' (R8)"
    )
    assert _overview("Guide", "Consistency meets flexibility") == [], "a sentence heading elsewhere is no subject"


def test_a_condition_says_where_it_holds_in_words_not_in_parentheses():
    text = "If the body is not valid JSON, the request fails with a 400 Bad Request error.\n"
    assert "In Tern, when receiving JSON in views, what happens if the body is not valid JSON?" in _questions(
        "Tern", "Receiving JSON in Views", text=text
    )
    text = "If no instance is found, the command looks for a factory function and calls it.\n"
    assert "In Tern's application discovery, what happens if no instance is found?" in _questions(
        "Tern", "Application Discovery", text=text
    )
    for q in _questions("Tern", "Application Discovery", text=text):
        assert not q.endswith(")?") and not vague_question(q), q


def test_an_exception_heading_on_a_troubleshooting_page_asks_how_to_fix_it_and_a_condition_names_the_product_once():
    assert "How do I fix `NoSuchMethodError` when calling Tern methods?" in _overview(
        "Troubleshooting Guide", "`NoSuchMethodError` when calling Tern methods"
    )
    text = "When an error occurs in Tern, the handler for its status code is called with the error.\n"
    qs = _questions("Tern", "Error Handlers", text=text)
    assert "In Tern's error handlers, what happens when an error occurs?" in qs, qs
    text = "If the response contains JSON, the promise resolves to the parsed body of the response.\n"
    qs = _questions("Tern", "Making a Request with `fetch`", text=text)
    assert "In Tern, when making a request with `fetch`, what happens if the response contains JSON?" in qs, qs


def test_a_task_is_asked_in_the_askers_words_and_a_pointing_heading_makes_no_how_to():
    text = (
        "Replace every generator middleware with an async function before the upgrade, and check each one again "
        "after the change.\n\n```js\napp.use(fn)\n```\n"
    )
    assert "How do I update my code in Tern?" in _questions("Migration", "Update your code", text=text)
    code = "```js\nconst a = 1;\nconst b = 2;\nconsole.log(a + b);\nconsole.log(a - b);\n```\n"
    assert not [q for q in _questions("Tern", "Identifying this as the issue", text=code) if q.startswith("How do I")]


def test_an_emoji_or_about_before_the_subject_is_dropped():
    assert "How does the middleware ecosystem work in Tern?" in _overview("Tern", "🔌 Middleware Ecosystem")
    assert "What are responses in Tern?" in _overview("Quickstart", "About Responses")


def test_a_heading_that_is_no_noun_phrase_makes_no_overview():
    # a gerund with its object, two topics joined, an adverbial opening, a bare count noun or adjective,
    # a clause: "How does <it> work?" / "What are <it>?" would not be grammatical
    for heading in (
        "Providing active help",
        "Overriding Template Blocks",
        "Performance and scalability",
        "In code",
        "One template engine",
        "Tutorial",
        "Advanced",
        "Default values not present after parsing",
        "Copy/Paste to terminal",
        "Address already in use",
        "Working with this document",
        "Lazily loading views",
        "Keep developing!",
        "Beyond REST",
        "Hashing and Mutability",
    ):
        assert _overview("Tern", heading) == [], heading


def test_a_noun_phrase_heading_reads_as_a_question():
    assert "How does the help command work in Tern?" in _overview("Tern", "Help Command")
    assert "How does the local flag on parent commands work in Tern?" in _overview(
        "Tern", "Local Flag on Parent Commands"
    )
    assert "How does caching work in Tern?" in _overview("Tern", "Caching")
    assert "What are APIs with JSON in Tern?" in _overview("Tern", "APIs with JSON")
    assert "What does `timeout` do in Tern?" in _overview("Options", "timeout"), "a lowercase one-word heading is code"
    assert "What are dicts in Tern?" in _overview("Tern", "dicts"), "a lowercase plural is a thing, not code"
    assert not [q for q in _overview("Tern", "Quick start") if "quick start" in q.lower()], "a generic title"
    assert "What is Tern?" in _overview("Welcome to Tern")
    assert "How does ASGI work in Tern?" in _overview("Tern", "ASGI"), "a name takes no article"
    assert "What is the purpose of the context in Tern?" in _overview("Tern", "Purpose of the Context")
    assert "How do I integrate Celery with Tern?" in _overview("Tern", "Integrate Celery with Tern")
    assert "What are built-in serializers and deserializers in Tern?" in _overview(
        "Tern", "Built-in Serializers and Deserializers"
    ), "two plurals read as one subject"
    assert "How does the versioning support work in Tern?" in _overview("Tern", "Versioning Support")


CODE = (
    '```go\nx := tern.New(tern.Options{Name: "demo"})\nx.Run(context.Background())\nx.Stop()\nx.Close()\nx.Wait()\n```'
)


def _code_questions(*heads: str) -> list[str]:
    """Questions of a section that is mostly code, as ingest hands it over (typed blocks)."""
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=8))
    found = [
        {
            "type": "paragraph",
            "text": "Set it up like this, then run it:",
            "shown": "Set it up like this, then run it:",
        },
        {"type": "code", "text": CODE, "shown": CODE},
    ]
    chunk = {"id": "c1", "unit_id": "u1", "heading_path": list(heads), "product": "Tern", "blocks": found}
    chunk["text"] = "\n\n".join(b["text"] for b in found)
    return [p["question"] for p in gen.questions([chunk])[0]]


def test_a_code_led_section_asks_how_to_use_only_a_thing_or_a_code_name():
    assert "How do I use `PathFlag` in Tern?" in _code_questions("Flags", "PathFlag")
    assert "How do I limit flag completions to directory names in Tern?" in _code_questions(
        "Completions", "Limit flag completions to directory names"
    )
    for heading in ("Path", "Walk", "Database"):
        assert not [q for q in _code_questions("Tern", heading) if q.startswith("How do I")], heading


def test_a_condition_without_a_subject_or_cut_in_a_parenthesis_makes_no_question():
    for sentence in (
        "If not provided, the delay is computed from the attempt count and the backoff limit.",
        "When set to `false`, the timeout is disabled and requests wait for the server forever.",
        "When many clients retry simultaneously (e.g. after an outage, the server sees a thundering herd.",
    ):
        assert not [q for q in _questions("Tern", "Retry", text=sentence + "\n") if " what happens " in q], sentence
    text = "When the application handles a request, it pushes a context that the views can read.\n"
    qs = _questions("Tern", "Purpose of the Context", text=text)
    assert "In Tern, what happens when the application handles a request?" in qs, qs


def test_steps_are_asked_for_an_activity_not_for_any_heading():
    steps = "1. Create the file.\n2. Add the entry point.\n3. Build the wheel.\n"
    assert "What are the steps for the release process in Tern?" in _questions("Tern", "Release Process", text=steps)
    assert not [q for q in _questions("Tern", "Simple Packages", text=steps) if "steps" in q]


def test_a_wish_with_a_bare_noun_makes_no_how_to():
    text = "If you want to use text, read the body from the response object instead of the raw bytes.\n"
    assert not [q for q in _questions("Tern", "Test Client", text=text) if q.startswith("How do I")]
    text = "If you want to add pages, list them in the navigation setting of the configuration file.\n"
    assert "How do I add pages in Tern?" in _questions("Tern", "Writing", text=text)
