"""Questions a user would ask and answers that stand alone: no question from a clause fragment or a vague
heading, no answer that points at a thing it does not hold ("the following", "below", "the above")."""

from __future__ import annotations

from corpus_ft.datasets.measure import dangling_answer
from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.heuristic import HeuristicGenerator, standalone


def _pairs(heading_path: list[str], text: str, product: str = "Tessel") -> dict[str, str]:
    chunk = {"id": "c", "unit_id": "u", "heading_path": heading_path, "product": product, "text": text}
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=8))
    return {p["question"]: p["answer"] for p in gen.questions([chunk])[0]}


GO_CODE = (
    "```go\nfunc main() {\n\tapp := tessel.New()\n\tapp.Use(func(c *tessel.Ctx) error { return c.Next() })\n"
    '\tapp.Listen(":3000")\n}\n```\n'
)


def test_an_answer_that_ends_pointing_at_an_example_takes_the_example():
    long = " ".join(
        f"The collection parser reads element number {i} on its own and checks its type." for i in range(11)
    )
    code = "\n".join(f"\tapp.Register(tessel.Reader{i}{{}})  // the reader for element type {i}" for i in range(14))
    blocks = [
        {"type": "paragraph", "text": long},
        {
            "type": "paragraph",
            "text": "Register a reader for every type. Here is an example that shows how to do this.",
        },
        {"type": "code", "text": code, "shown": f"```go\n{code}\n```"},
    ]
    chunk = {"id": "c", "unit_id": "u", "heading_path": ["Guide", "Mixed collections"], "product": "Tessel"}
    chunk |= {"text": "\n\n".join(b["text"] for b in blocks), "blocks": blocks}
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=8))
    answers = [p["answer"] for p in gen.questions([chunk])[0]]
    assert answers and all("Here is an example" not in a or "```go" in a for a in answers)
    assert any("```go" in a for a in answers)


def test_a_pointer_without_what_it_points_to_is_cut_and_an_intro_alone_is_no_overview():
    text = "Many services require authentication. Below, we outline the forms of authentication in Tessel.\n"
    assert not [q for q in _pairs(["Auth", "Authentication methods"], text) if q.startswith("What does the")]
    assert standalone("Adding hints is done with `hint()`. Keep reading for details.", []) == (
        "Adding hints is done with `hint()`."
    )


def test_an_answer_that_leans_on_the_above_or_continues_a_list_is_dropped():
    assert standalone("The above is possible, but not recommended for servers.", []) == ""
    assert standalone("- Or, you have not configured the shrinker\n- Keep the names", []) == ""
    assert standalone("You may recognize this from the help above. The help embeds the usage.", []) == ""
    assert standalone("Tern has many plugins. This page provides an overview of the best of them.", []) == ""
    assert standalone("1. Update Node.js\n2. Update all middleware to use async functions:\n3. Test", []) == ""
    leans = "The upside of this approach is that the connection opens only when it is needed. Close it at the end."
    assert standalone(leans, []) == "" and dangling_answer(leans), "what the approach is, the text before said"
    own = "Tern opens connections lazily. The upside of this approach is that idle workers hold no sockets."
    assert standalone(own, []) == own and not dangling_answer(own)
    code_then_above = "Make it static:\n\n```java\nstatic class B {}\n```\n\nThe above is possible."
    assert standalone(code_then_above, []) == code_then_above  # the above is inside the answer


def test_an_answer_ending_in_a_dangling_or_takes_the_alternative():
    parts = ["Limit completions like so:", "```go\nx()\n```", "or", "```go\ny()\n```"]
    assert standalone("\n\n".join(parts[:3]), parts).endswith("y()\n```")


def test_no_question_from_a_clause_fragment_or_a_story():
    text = (
        "Hints are messages printed during completion. If configured by the program, hints are printed when "
        "the user presses tab.\n\nIf the server had implemented the method correctly, it would return the headers.\n"
    )
    qs = list(_pairs(["Hints", "Printing hints"], text))
    assert not [q for q in qs if "configured by" in q or "had implemented" in q]


def test_vague_and_label_headings_make_no_how_to_of_their_own():
    qs = list(_pairs(["Tessel", "Common function"], GO_CODE))
    assert not [q for q in qs if "common function" in q.lower()]
    qs = list(_pairs(["Guide", "Collections Examples"], GO_CODE))
    assert qs and not [q for q in qs if "examples" in q.lower()]
    assert not [q for q in _pairs(["Internals", "Route & Path Parsing"], GO_CODE) if "&" in q]
    assert not list(_pairs(["Client", "to"], GO_CODE))  # a heading that is a function word names nothing
    qs = list(_pairs(["Migrating", "Redirect Changes"], GO_CODE))
    assert not [q for q in qs if q.startswith("How do I redirect changes")]


def test_a_list_of_values_is_not_a_list_of_steps():
    text = 'Set the status code.\n\n- 100 "continue"\n- 101 "switching protocols"\n- 200 "ok"\n'
    assert not [q for q in _pairs(["Response", "Status codes"], text) if "steps" in q]


def test_a_generic_page_title_makes_no_overview_question():
    text = "- Workshops: an intro to Tessel via self-guided workshops.\n- Guide: go straight to the docs of it.\n"
    assert not [q for q in _pairs(["Tessel", "Getting started"], text) if q.startswith("What does the")]
