"""The card's qa signals catch what a reader rejects: vague or fragment questions, answers that point at
text they do not hold, a build module named as the product; "ready" only when each is within its goal."""

from __future__ import annotations

from corpus_ft.datasets.measure import dangling_answer, dataset_quality, module_product, vague_question

GOOD_A = "Call `app.listen(port)` to start the server. It binds the port and serves until stopped.\n\n```js\napp.listen(3000)\n```"


def _record(i: int, q: str, a: str = GOOD_A) -> dict:
    return {
        "id": f"qa-{i}",
        "kind": "qa",
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": q},
            {"role": "assistant", "content": a},
        ],
        "source": {"path": f"docs/p{i}.md", "start_line": 1, "end_line": 9, "unit_id": f"u{i}"},
        "meta": {"language": "markdown", "grounding": 1.0},
    }


def _units(n: int) -> list[dict]:
    text = "Call app.listen to start the server and serve requests until it is stopped by the operator."
    return [
        {"id": f"u{i}", "kind": "section", "language": "markdown", "path": f"docs/p{i}.md", "text": text}
        for i in range(n)
    ]


def test_vague_and_fragment_questions():
    assert vague_question("What does the Tern documentation say about Overview?")
    assert vague_question("How do I use collections examples in Tern?")
    assert vague_question("How do I use common function in Tern?")
    assert vague_question("How do I redirect changes in Tern?")
    assert vague_question("What does the Tern documentation say about $ pip install tern (Installation)?")
    assert vague_question("In Tern, what happens if configured by the program (Hints)?")
    assert vague_question("In Tern, what happens if the server had implemented OPTIONS?")
    assert vague_question("How do I debug Specify dynamic completion in Tern?")
    assert vague_question("How do I route & Path Parsing in Tern?")
    assert vague_question("How do I use SetPathParam PathParam in Tern?")
    assert vague_question("How do I use request.accepts(types) request in Tern?")
    assert not vague_question("How do I use InstanceCreator for a parameterized type in Tern?")
    assert not vague_question("How do I use app.use(function) in Tern?")
    assert not vague_question("How do I use v1.x Middleware in v2.x in Tern?")
    assert not vague_question("How do I stream uploads in Tern?")
    assert not vague_question("In Tern, what happens when the user provides an invalid flag?")
    assert not vague_question("In Tern, what happens if no `ctype` is passed in (JSON)?")
    # "How does X work?" asks about a noun phrase, not a gerund clause, two topics or a bare count noun
    assert vague_question("How does providing active help work in Tern?")
    assert vague_question("How does performance and scalability work in Tern?")
    assert vague_question("How does tutorial work in Tern?")
    assert not vague_question("How does the help command work in Tern?")
    assert not vague_question("How does caching work in Tern?")


def test_template_questions_that_only_name_a_section_are_vague():
    # the generic form names a section, it asks nothing a user would type
    assert vague_question("What does the Tern documentation say about Define and collect hooks (`tern`)?")
    assert vague_question("What does the Tern documentation say about Overview (Authentication)?")
    assert vague_question("What does the Tern documentation say about Behavioural Changes (Migrating to 2.x)?")
    # a parent heading glued on in parentheses, a colon title, a name said twice
    assert vague_question("How do I define and collect hooks (`tern`) in Tern?")
    assert vague_question("What are the steps for tern: Java HTML Parser in tern Java HTML Parser?")
    assert vague_question("How do I use Databases Databases?")
    assert vague_question("How do I use queries database queries in Databases?")
    # what a user asks
    assert not vague_question("How do I define and collect hooks in Tern?")
    assert not vague_question("What are hook specifications in Tern?")
    assert not vague_question("How do I install Tern?")
    assert not vague_question("What does `pm.hook` do in Tern?")
    assert not vague_question("How do I connect to a database in Databases?")
    assert not vague_question("How does request context work in Tern?")
    assert not vague_question("How do I call run()?")
    assert not vague_question("How do I fix `IllegalArgumentException`: 'TypeToken must not hold a TypeToken' in Tern?")


def test_answers_that_point_at_what_they_lack():
    assert dangling_answer("Many services need authentication. Below, we outline the forms available.")
    assert dangling_answer("Adding hints is done with `hint()`. Keep reading for details.")
    assert dangling_answer("Limit them like so:\n\n```go\nx()\n```\n\nor")
    assert dangling_answer("In the code above, the book is never fetched from the database.")
    assert dangling_answer("- Or, you have not configured the shrinker\n- Keep names")
    assert dangling_answer("2. Register a type adapter for the collection class.\n3. Use the parser API.")
    assert dangling_answer("1. Use the parser. This is preferred. Here is an example that shows how to do this.")
    assert dangling_answer("You may recognize this from the help above. The default help embeds the usage.")
    assert dangling_answer("Requests has many extensions. This page provides an overview of some of the best of them.")
    assert dangling_answer("Some of the best have been brought together under")
    assert dangling_answer("1. Update Node.js\n2. Update all generator middleware to use async functions:\n3. Test")
    assert not dangling_answer(GOOD_A)
    assert not dangling_answer("- The following are not supported:\n- `A` (by extension)\n- `B` (by directory)")
    assert not dangling_answer("Make it static:\n\n```java\nstatic class B {}\n```\n\nThe above is possible.")


def test_a_build_module_named_as_the_product():
    assert module_product("What are maps in Quill Parent?")
    assert module_product("How do I write a deserializer in quill-parent?")
    assert not module_product("How do I find the project root?")
    assert not module_product("What does the Quill documentation say about Local Flag on Parent Commands?")


def test_the_verdict_names_each_qa_problem_with_examples_and_is_ready_only_without_them():
    good = [_record(i, f"How do I start server number {i} in Quill?") for i in range(40)]
    q = dataset_quality("qa", good, [], _units(40))
    assert q["verdict"] == "ready", q["verdict"]
    assert q["vague_question"] == q["dangling_answer"] == q["module_product"] == 0.0
    bad = good[:34] + [
        _record(34, "How do I use common function in Quill?"),
        _record(35, "How do I use maps examples in Quill?"),
        _record(36, "How do I start it in Quill?", "Many services need it. Below, we outline the forms available."),
        _record(37, "How do I stop it in Quill?", "In the code above, the book is never fetched."),
        _record(38, "What are maps in Quill Parent?"),
        _record(39, "How do I write a deserializer in Quill Parent?"),
    ]
    q = dataset_quality("qa", bad, [], _units(40))
    assert q["vague_question"] == q["dangling_answer"] == q["module_product"] == 0.05
    for key in ("vague_question", "dangling_answer", "module_product"):
        assert len(q["examples"][key]) == 2
    assert q["verdict"].startswith("look at:")
    assert "vague heading" in q["verdict"] and "point at text" in q["verdict"] and "build module" in q["verdict"]
    assert "docs/p34.md:1" in q["verdict"] and "docs/p38.md:1" in q["verdict"]
