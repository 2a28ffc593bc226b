"""Prompt templates for the model-backed generators, one file per step.

A question-answer pair takes three steps, as the better dataset generators do it: `qa.txt`
writes questions seeing the document title, the heading path and the product name (so a
question names what it is about); `qa_answer.txt` answers one question from the chunk alone;
`qa_check.txt` asks whether the chunk supports the answer, and unsupported pairs are dropped.
`code_summary.txt` summarises a code unit. `qa_paraphrase.txt` rewrites a train question for
`datasets.augment.paraphrase` (corpus_ft/datasets/augment.py). A recipe overrides any of them with
`datasets.generator.prompts: {qa: my_qa.txt}`. Templates are Jinja2 (`{{ text }}`,
`{% if heading_path %}…{% endif %}`); an unknown placeholder is an error when the template is
loaded, not halfway through a paid run. The rendered text is the user message.

Placeholders:
  qa:            text, heading_path ("A > B"), title, product, path, language, start_line, end_line, n
  qa_answer:     text, question, heading_path, path
  qa_check:      text, question, answer, heading_path, path
  code_summary:  code, name, signature, docstring, kind, path, language, start_line, end_line
  qa_paraphrase: question, n
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jinja2

from corpus_ft.util import CorpusFtError

HERE = Path(__file__).resolve().parent
KINDS = ("qa", "qa_answer", "qa_check", "code_summary", "qa_paraphrase")
MAX_CODE_CHARS = 12_000  # a longer unit is cut, so one huge class cannot overflow the context

_SAMPLE = {
    "qa": {
        "text": "t",
        "heading_path": "A > B",
        "title": "A",
        "product": "P",
        "path": "p",
        "language": "markdown",
        "start_line": 1,
        "end_line": 2,
        "n": 2,
    },
    "qa_answer": {"text": "t", "question": "q", "heading_path": "A > B", "path": "p"},
    "qa_check": {"text": "t", "question": "q", "answer": "a", "heading_path": "A > B", "path": "p"},
    "code_summary": {
        "code": "c",
        "name": "f",
        "signature": "def f()",
        "docstring": "",
        "kind": "function",
        "path": "p",
        "language": "python",
        "start_line": 1,
        "end_line": 2,
    },
    "qa_paraphrase": {"question": "q", "n": 2},
}
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def load_template(kind: str, path: str | Path | None = None) -> jinja2.Template:
    """The template for `kind` (built-in, or the file at `path`), checked against its placeholders."""
    if kind not in KINDS:
        raise CorpusFtError(
            f"datasets.generator.prompts.{kind}: no prompt for kind {kind!r}; prompts exist for {', '.join(KINDS)}"
        )
    file = Path(path).expanduser() if path is not None else HERE / f"{kind}.txt"
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as e:
        raise CorpusFtError(
            f"datasets.generator.prompts.{kind}: cannot read {file} ({e.strerror}); "
            "give a path to a prompt template file"
        ) from None
    try:
        template = _ENV.from_string(source)
        template.render(**_SAMPLE[kind])
    except jinja2.TemplateSyntaxError as e:
        raise CorpusFtError(f"{file}:{e.lineno}: template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise CorpusFtError(
            f"{file}: {e.message}; placeholders for {kind}: {', '.join(sorted(_SAMPLE[kind]))}"
        ) from None
    return template


def load_templates(overrides: Mapping[str, str | Path] | None = None) -> dict[str, jinja2.Template]:
    """Every kind's template, with a recipe's overrides (kind -> path) applied."""
    overrides = dict(overrides or {})
    for kind in overrides:
        if kind not in KINDS:
            load_template(kind)  # raises the error naming the key
    return {kind: load_template(kind, overrides.get(kind)) for kind in KINDS}


def qa_prompt(template: jinja2.Template, chunk: Mapping, n: int) -> str:
    """Step 1: the question prompt, which sees the title, heading path and product."""
    headings = list(chunk.get("heading_path") or [])
    return template.render(
        text=chunk.get("text", ""),
        heading_path=" > ".join(headings),
        title=headings[0] if headings else "",
        product=chunk.get("product") or "",
        path=chunk.get("path", ""),
        language=chunk.get("language", ""),
        start_line=chunk.get("start_line"),
        end_line=chunk.get("end_line"),
        n=n,
    ).strip()


def answer_prompt(template: jinja2.Template, chunk: Mapping, question: str) -> str:
    """Step 2: answer one question from the chunk alone."""
    return template.render(
        text=chunk.get("text", ""),
        question=question,
        path=chunk.get("path", ""),
        heading_path=" > ".join(chunk.get("heading_path") or []),
    ).strip()


def check_prompt(template: jinja2.Template, chunk: Mapping, question: str, answer: str) -> str:
    """Step 3: does the chunk support this answer?"""
    return template.render(
        text=chunk.get("text", ""),
        question=question,
        answer=answer,
        path=chunk.get("path", ""),
        heading_path=" > ".join(chunk.get("heading_path") or []),
    ).strip()


def paraphrase_prompt(template: jinja2.Template, question: str, n: int) -> str:
    """datasets.augment.paraphrase: n rewordings of one train question."""
    return template.render(question=question, n=n).strip()


def summary_prompt(template: jinja2.Template, unit: Mapping) -> str:
    code = unit.get("text") or ""
    if len(code) > MAX_CODE_CHARS:
        code = code[:MAX_CODE_CHARS] + "\n… (truncated)"
    return template.render(
        code=code,
        name=unit.get("name") or "",
        signature=unit.get("signature") or "",
        docstring=unit.get("docstring") or "",
        kind=unit.get("kind") or "definition",
        path=unit.get("path", ""),
        language=unit.get("language", ""),
        start_line=unit.get("start_line"),
        end_line=unit.get("end_line"),
    ).strip()
