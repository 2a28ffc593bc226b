"""Q&A that answers: the answer is the section (whole blocks, its code included, up to a size limit),
a section that is mostly code makes a how-to pair, a FAQ source's question is asked as written, and
no overview question is answered by the one sentence that introduces what follows."""

from __future__ import annotations

from corpus_ft.datasets import BuildConfig
from corpus_ft.datasets.kinds import asked_question, qa
from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.heuristic import HeuristicGenerator, one_sentence


def _pairs(chunk: dict) -> dict[str, str]:
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=8))
    return {p["question"]: p["answer"] for p in gen.questions([chunk])[0]}


# A section that opens with one sentence introducing an example, then the example and its explanation.
SECRETS = {
    "id": "c-1",
    "unit_id": "u-1",
    "heading_path": ["Settings", "Secret files"],
    "product": "Confy",
    "text": "## Secret files\n\n"
    "Placing secret values in files is a common pattern to give an application sensitive configuration.\n\n"
    "A secret file holds a single value and its file name is the key. It looks like this:\n\n"
    "```\nsuper_secret_database_password\n```\n\n"
    "Confy reads every file of the secrets directory when the settings object is created.\n",
}
# A section that is all example: a heading and code with comments, almost no prose.
PATH_PARAMS = {
    "id": "c-2",
    "unit_id": "u-2",
    "heading_path": ["Quick start", "Routing", "Parameters in path"],
    "product": "Routy",
    "text": "### Parameters in path\n\n```go\nfunc main() {\n\trouter := routy.Default()\n"
    '\t// matches /user/john but not /user/\n\trouter.GET("/user/:name", func(c *routy.Context) {\n'
    '\t\tc.String(200, "Hello %s", c.Param("name"))\n\t})\n\trouter.Run(":8080")\n}\n```\n',
}


def test_overview_answer_is_the_whole_section_with_its_code_not_its_first_sentence():
    by_q = _pairs(SECRETS)
    answer = by_q["What are secret files in Confy?"]
    assert answer.startswith("Placing secret values in files")
    assert "super_secret_database_password" in answer and "secrets directory" in answer
    assert not one_sentence(answer)


def test_a_section_that_is_mostly_code_makes_a_how_to_pair():
    by_q = _pairs(PATH_PARAMS)
    assert list(by_q) == ["How do I use parameters in path in Routy?"]
    assert 'router.GET("/user/:name"' in by_q["How do I use parameters in path in Routy?"]
    verb = dict(PATH_PARAMS, heading_path=["Binding", "Bind Uri"])
    assert list(_pairs(verb)) == ["How do I bind uri in Routy?"]
    diagram = dict(
        PATH_PARAMS, text="### Data flow\n\n```\nbank ──SFTP──▶ gateway ──Kafka──▶ matcher ──▶ db\n" * 3 + "```\n"
    )
    assert not [q for q in _pairs(dict(diagram, heading_path=["Data flow"])) if q.startswith("How do I")]
    for sentence in ("The `prefix` parameter is removed", "Consistency meets flexibility"):
        asked = list(_pairs(dict(PATH_PARAMS, heading_path=["Upgrading", sentence])))
        assert not [q for q in asked if q.startswith("How do I")], "a heading that is a sentence names no task"


def test_no_overview_question_is_answered_by_one_sentence_that_introduces_what_follows():
    intro = dict(
        SECRETS,
        text="## Secret files\n\nThere are two ways to load secrets, described in the sections below.\n",
        heading_path=["Settings", "Secret files"],
    )
    assert _pairs(intro) == {}
    assert one_sentence("Placing secret values in files is common.")
    assert not one_sentence("One sentence. And a second one.")
    assert not one_sentence("Run it:\n\n```\nx\n```")


def test_a_faq_source_becomes_a_pair_as_written():
    unit = {"id": "u-9", "kind": "section", "name": "How do I rotate the signing key?", "heading_path": []}
    assert asked_question(unit) == "How do I rotate the signing key?"
    typed = {
        "id": "u-8",
        "name": "Keys",
        "heading_path": ["Keys"],
        "blocks": [{"type": "front_matter", "fields": {"title": "Why is my key rejected?"}}],
    }
    assert asked_question(typed) == "Why is my key rejected?"
    assert asked_question({"id": "u-7", "name": "Rotating keys", "heading_path": []}) == ""
    chunk = {
        "id": "c-9",
        "unit_id": "u-9",
        "heading_path": [],
        "path": "docs/faq/rotate.md",
        "language": "markdown",
        "start_line": 1,
        "end_line": 9,
        "text": "Run the rotation command on the primary first; the replicas pick up the new key within a "
        "minute.\n\n```\nkeyctl rotate --primary\n```\n",
    }
    kept, _removed = qa([chunk], HeuristicGenerator(), BuildConfig(), product="Keyd", units=[unit])
    pairs = {r["messages"][1]["content"]: r["messages"][2]["content"] for r in kept}
    assert "How do I rotate the signing key?" in pairs
    assert "keyctl rotate --primary" in pairs["How do I rotate the signing key?"]


def test_keywords_are_terms_that_stand_alone_or_no_record():
    from corpus_ft.datasets.kinds import extract_keywords, keywords

    text = (
        "Tabs are expanded to spaces involving the tab size of the console. There is an obvious difference "
        "between the two renderers when a line wraps, and the renderer receives additional options.\n"
    )
    kws = extract_keywords(text, 3)
    assert not {"spaces involving", "obvious difference", "receives additional"} & {k.lower() for k in kws}, kws
    recurring = (
        "The tab size decides how wide a tab is drawn. Set the tab size on the console; a tab size of 8 is "
        "the terminal's own. The console keeps the tab size for every renderer.\n"
    )
    assert "tab size" in [k.lower() for k in extract_keywords(recurring, 3)]
    verb = "The `Opts` constructor receives `ordered`. Subclasses whose constructor receives options pass them on."
    assert "constructor receives" not in extract_keywords(verb, 3), "a subject and its verb, however often"
    weak = {
        "id": "c-1",
        "unit_id": "u-1",
        "heading_path": [],
        "path": "docs/x.md",
        "language": "markdown",
        "start_line": 1,
        "end_line": 2,
        "text": "It works as expected and there is an obvious difference in most cases here.\n",
    }
    assert keywords([weak], BuildConfig()) == [], "no record rather than a weak one"
