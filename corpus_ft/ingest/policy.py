"""Content policy: which part of a repository a file is (source, docs, test, changelog, licence, CI,
template, example, generated, marketing, community, stub, type test, benchmark, build metadata),
decided by path conventions and a look at the content; and which documents are translations.

Ingest writes the category of every unit to units.parquet; the dataset stage leaves the
categories in `EXCLUDED_BY_DEFAULT` out unless a recipe lists them in `datasets.include`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

CATEGORIES = (
    "source",
    "docs",
    "test",
    "changelog",
    "license",
    "ci",
    "build",
    "template",
    "example",
    "generated",
    "marketing",
    "community",
    "stub",
    "type_test",
    "benchmark",
    "translation",
)
EXCLUDED_BY_DEFAULT = (
    "test",
    "changelog",
    "license",
    "ci",
    "build",
    "template",
    "generated",
    "marketing",
    "community",
    "stub",
    "type_test",
    "benchmark",
    "translation",
)
WHY = {
    "test": "tests: fixtures and assertions, not how the code is meant to be used",
    "changelog": "changelogs and release notes: version-by-version lists that date quickly",
    "license": "licences and notices: legal boilerplate shared by thousands of projects",
    "ci": "CI workflows and issue/PR templates: project housekeeping",
    "build": "build metadata and dependency listings (requirements*.txt, constraints.txt, Pipfile, *.in, setup.py, "
    "Sphinx conf.py, bundler configs, .git_archival.txt): settings, package names and hashes, not how the project works",
    "template": "template files of any engine (Jinja, EJS, ERB, Handlebars, Go templates): markup with holes, "
    "not prose or code",
    "generated": "generated files: written by a tool, not by the authors",
    "marketing": "sponsorship, backers, 'support us' and 'who uses' pages: appeals and logos, not how the project works",
    "community": "code of conduct, contributing, security policy, governance, support and people lists "
    "(authors, maintainers, contributors): how people work together, not how the software works",
    "stub": "type stubs (.pyi): signatures without bodies, repeated from the source",
    "type_test": "typing tests: code written to exercise a type checker, not to be used",
    "benchmark": "benchmarks: timing harnesses, not how the code is meant to be used",
    "translation": "documentation in another language than the corpus's own (README.xx.md, docs/xx/, or text "
    "identified as another language); `datasets.keep_languages: [xx]` keeps one",
}

_TEST_DIRS = {"test", "tests", "__tests__", "e2e", "testdata", "test_data"}
_CODE_TEST_DIRS = _TEST_DIRS | {"testing", "spec", "specs"}  # docs/testing/, specs/ of documents are documentation
_TEST_FILE = re.compile(
    r"^(test_.+\.py|.+_tests?\.py|conftest\.py|.+_test\.(go|rb|rs|c|cc|cpp|exs?)|test_.+\.(rb|c)|"
    r".+\.(test|spec)\.[cm]?[jt]sx?|.+(Test|Tests|IT)\.(java|kt|cs|scala)|.+_spec\.rb)$"
)
_CHANGELOG_NAMES = {
    "changes",
    "changelog",
    "change_log",
    "change-log",
    "history",
    "news",
    "releases",
    "release_notes",
    "release-notes",
    "releasenotes",
    "whatsnew",
    "whats_new",
    "whats-new",
}
_CHANGELOG_DIRS = {
    "changelog",
    "changelog.d",
    "changes",
    "release-notes",
    "release_notes",
    "releasenotes",
    "whatsnew",
    "newsfragments",
    "changelogs",
}
_LICENSE_NAMES = {"license", "licence", "copying", "notice", "copyright", "unlicense", "licenses", "licences"}
_CI_PREFIXES = (
    ".github/workflows/",
    ".github/issue_template/",
    ".github/discussion_template/",
    ".gitlab/",
    ".circleci/",
    ".buildkite/",
    ".azure-pipelines/",
    ".github/actions/",
)
_CI_FILES = {
    ".gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "jenkinsfile",
    "noxfile.py",
    "tox.ini",
    "pull_request_template.md",
    ".pre-commit-config.yaml",
    "appveyor.yml",
    ".readthedocs.yaml",
}
_BUILD_FILE = re.compile(
    r"^(?:[\w.-]*requirements[\w.-]*|constraints[\w.-]*)\.(?:txt|in|pip)$|^[\w.-]+\.in$|"
    r"^(?:pipfile|pipfile\.lock|poetry\.lock|uv\.lock|pdm\.lock|package-lock\.json|yarn\.lock|"
    r"pnpm-lock\.yaml|cargo\.lock|gemfile|gemfile\.lock|go\.sum)$"
)
_REQUIREMENT = re.compile(
    r"^\s*(?:-[rce]\s+\S+|--[\w-]+(?:[ =]\S+)?|-e\s+\S+|[A-Za-z0-9][\w.-]*(?:\[[\w,.\s-]*\])?"
    r"\s*(?:(?:[<>=!~]=?|===)\s*[\w.*+!-]+\s*,?\s*)*(?:;[^#]*)?(?:--hash=\S+\s*)*)\s*(?:#.*)?$"
)
_TEMPLATE_EXT = {
    ".j2",
    ".jinja",
    ".jinja2",
    ".tmpl",
    ".tpl",
    ".gotmpl",
    ".gohtml",
    ".mustache",
    ".hbs",
    ".handlebars",
    ".njk",
    ".liquid",
    ".erb",
    ".ejs",
}
_EXAMPLE_DIRS = {"examples", "example", "samples", "demo", "demos", "cookbook"}
_VERSION_HEADING = re.compile(r"^\W*(?:version|release|v(?=\d)|\[)?\s*\d+\.\d+(?:\.\d+)?\S*|^\W*unreleased\b", re.I)
_GENERATED = re.compile(
    r"^\s*(?:#|//|/\*|\*|<!--|\.\.|--|;|\"\"\"|''')[^\n]*?(?:code generated\b.*\bdo not edit|@generated\b|"
    r"auto-?generated|automatically generated|this file (?:is|was|has been) generated|generated by\b.*\bdo not edit)",
    re.I | re.M,
)
_LICENSE_TEXT = re.compile(
    r"permission is hereby granted, free of charge|redistribution and use in source and binary forms|"
    r"licensed under the apache license|gnu (?:lesser |affero )?general public license|mozilla public license",
    re.I,
)
_MARKETING_NAMES = {
    "sponsors",
    "sponsor",
    "sponsorship",
    "sponsoring",
    "backers",
    "supporters",
    "funding",
    "donate",
    "donations",
    "donating",
    "support-us",
    "support_us",
    "supportus",
    "who-uses",
    "who_uses",
    "whos-using",
    "users-list",
    "showcase",
    "testimonials",
    "adopters",
    "powered-by",
    "in-the-wild",
}
_MARKETING_TITLE = re.compile(
    r"^\W*(?:(?:become an? |our )?(?:sponsors?(?:hip)?|backers|supporters|donat\w*|funding)\b"
    r"|support (?:us|the project|\w+ development)\b|who(?:'s| is)? us(?:es|ing)\b"
    r"|(?:companies|projects) using\b|powered by\b|adopters\b|showcase\b|testimonials\b)",
    re.I,
)
# Pages about how people work together rather than how the software works, by file stem.
_COMMUNITY_NAMES = {
    "code_of_conduct",
    "code-of-conduct",
    "codeofconduct",
    "conduct",
    "contributing",
    "contribute",
    "contributors",
    "contribution",
    "contributions",
    "authors",
    "author",
    "maintainers",
    "maintaining",
    "owners",
    "codeowners",
    "credits",
    "acknowledgements",
    "acknowledgments",
    "governance",
    "ai_policy",
    "releasing",
    "release-checklist",
    "release_checklist",
    "citation",
}
# The same, only as a top-level (or .github/) file: inside a docs tree these names can be features.
_TOP_COMMUNITY_NAMES = {"security", "support", "team", "people", "thanks", "conduct", "funding"}
# Section headings of the same kind inside an ordinary page (a README's "Contributing" section).
_COMMUNITY_TITLE = re.compile(
    r"^\W*(?:code of conduct|contribut(?:ing|ors?|ions?)\b|how to contribute|authors?\b|maintainers?\b|"
    r"(?:current )?(?:project )?team members\b|(?:\w+ )?emerit(?:us|i|a)\b|triagers\b|collaborators\b|"
    r"(?:tc )?\(?technical committee\)?|tc\b|steering committee\b|"
    r"(?:core )?team\b|credits\b|acknowledge?ments\b|thanks\b|governance\b|security (?:policy|issues|"
    r"vulnerabilit\w+|disclosure|reporting)\s*$|reporting (?:a )?(?:security|vulnerabilit)\w*|"
    r"(?:getting )?support\s*$|funding\b|license\s*$|licensing\s*$)",
    re.I,
)
_STUB_EXT = {".pyi"}
_TYPE_TEST_DIRS = {"typing_tests", "type_tests", "type-tests", "typesafety", "typecheck", "typing-tests", "test-d"}
_TYPE_TEST_FILE = re.compile(r"^(?:test_typing\w*\.py|typing_test\w*\.py|.+\.test-d\.tsx?)$")
_BENCH_DIRS = {"bench", "benches", "benchmark", "benchmarks", "benchsuite", "asv_bench", "perf", "performance"}
_BENCH_FILE = re.compile(r"^(?:bench(?:mark)?s?_.+|.+_bench(?:mark)?s?)\.\w+$|^benchmarks?\.md$")
_BUILD_META = re.compile(
    r"^(?:setup\.py|\.git_archival\.txt|build\.rs|conf\.py|noxfile\.py|fabfile\.py|gruntfile\.js|gulpfile\.js|"
    r"(?:webpack|rollup|vite|vitest|jest|babel|eslint|prettier|tsup|karma|postcss|tailwind)\.config\.[cm]?[jt]s|"
    r"\.eslintrc\.[cm]?js|asv\.conf\.json)$"
)
_TEMPLATE_TAGS = re.compile(r"\{%-?\s|\{\{[-#]?\s*[\w.]")
# A page written for a template engine, seen in its source: EJS/ERB `<% %>`, Jinja2/Django/Liquid
# `{% %}`, Mustache/Handlebars/Jinja2/Go `{{ name }}`, `{{#each}}`, `{{/if}}`.
_TEMPLATE_SOURCE = re.compile(r"<%[-=_#]?\s.*?%>|\{%-?\s*\w+.*?%\}|\{\{[-#/^>&{]?\s*[\w.$@]+.*?\}\}", re.S)
# Files a version-control or build tool writes for itself (`git archive` substitutions, blame skips).
_BUILD_METADATA = {".git_archival.txt", ".hg_archival.txt", ".git-blame-ignore-revs", ".gitattributes", ".mailmap"}


def generated(head: str) -> bool:
    """True when the first lines carry a generated-file marker in a comment (`Code generated ... DO NOT EDIT`)."""
    return bool(_GENERATED.search("\n".join(head.split("\n", 12)[:12])))


def templated(text: str) -> bool:
    """True when a page's source holds template-engine tags (only asked of HTML and plain text, whose
    readers would strip or keep the tags as prose; Markdown and reST show templates inside code)."""
    return _TEMPLATE_SOURCE.search(text) is not None


def file_category(
    rel: str, language: str | None, units: list[dict], *, is_generated: bool = False, is_template: bool = False
) -> str:
    """The category of one file: path conventions first, then what its content shows."""
    path = PurePosixPath(rel.lower())
    dirs, name, stem, suffix = set(path.parts[:-1]), path.name, path.name.split(".")[0], path.suffix
    document = language in ("markdown", "rst", "text", "html", "pdf", "docx")
    if is_generated or re.search(r"(^|[._-])generated\.", name):
        return "generated"
    if (
        rel.lower().startswith(_CI_PREFIXES)
        or name in _CI_FILES
        or (path.parts[:1] == (".github",) and stem in ("pull_request_template", "issue_template"))
    ):
        return "ci"
    if (
        _BUILD_FILE.match(name)
        or name in _BUILD_METADATA
        or dirs & {"requirements"}
        and suffix in (".txt", ".in")
        or (language == "text" and _requirement_listing(units))
    ):
        return "build"
    if (
        stem in _LICENSE_NAMES
        or dirs & {"licenses", "licences"}
        or (document and units and _LICENSE_TEXT.search(units[0].get("text") or ""))
    ):
        return "license"
    if stem in _CHANGELOG_NAMES or dirs & _CHANGELOG_DIRS or (document and _mostly_versions(units)):
        return "changelog"
    if suffix in _STUB_EXT:
        return "stub"
    if dirs & _TYPE_TEST_DIRS or _TYPE_TEST_FILE.match(name):
        return "type_test"
    if dirs & _BENCH_DIRS or _BENCH_FILE.match(name):
        return "benchmark"
    if dirs & (_TEST_DIRS if document else _CODE_TEST_DIRS) or _TEST_FILE.match(PurePosixPath(rel).name):
        return "test"
    if _BUILD_META.match(name) and (name != "conf.py" or dirs & {"docs", "doc", "source"}):
        return "build"
    top = len(path.parts) == 1 or path.parts[0] == ".github"
    if document and (
        stem.replace(" ", "_") in _COMMUNITY_NAMES or (top and stem in _TOP_COMMUNITY_NAMES) or _community_title(units)
    ):
        return "community"
    if suffix in _TEMPLATE_EXT or "{{" in rel or is_template or (document and _templated(units, language)):
        return "template"
    if document and (stem in _MARKETING_NAMES or _marketing_title(units)):
        return "marketing"
    if dirs & _EXAMPLE_DIRS:
        return "example"
    return "docs" if document else "source"


def unit_category(unit: dict, file_cat: str) -> str:
    """A section of a docs page under a sponsorship heading ("Donate", "Sponsors" in a README) is
    `marketing` like a whole sponsorship page; one under a community heading ("Contributing", "Code of
    Conduct", "Authors") or whose body is a list of people's names is `community`; every other unit
    takes its file's category."""
    if unit.get("test") and file_cat == "source":
        return "test"  # a `#[test]` function or a `#[cfg(test)]` module inside a source file
    if file_cat != "docs" or unit.get("kind") != "section":
        return file_cat
    heads = [str(h).strip(" #*✨💖🙏") for h in unit.get("heading_path") or []]
    if any(_MARKETING_TITLE.match(h) for h in heads):
        return "marketing"
    if any(_COMMUNITY_TITLE.match(h) for h in heads) or people_list(unit.get("text") or ""):
        return "community"
    if heads and _BENCH_TITLE.search(heads[-1]):
        return "benchmark"  # a page's benchmark figures date as fast as a changelog
    return file_cat


_BENCH_TITLE = re.compile(r"\bbenchmarks?(?: results)?\s*$", re.I)


# A person's name as lists of people write it: two to four capitalised words (initials, particles
# such as "van"/"de", hyphens and apostrophes allowed), then optionally a handle, an e-mail, a link
# or a parenthesised note.
_NAME = r"[A-Z\u00c0-\u024f][\w'\u00c0-\u024f-]*\.?"
_PERSON = re.compile(
    rf"^\s*(?:[-*+•]|\d+[.)])?\s*(?:\[?@?[\w.-]+\]?(?:\([^)]*\))?\s+[-–—:]\s+)?\**\[?(?:{_NAME}\s+)(?:(?:van|von|de|der|da|del|di|le|la|bin|al)\s+)?"
    rf"(?:{_NAME}\s+){{0,2}}{_NAME}\]?\**(?:\([^)]*\))?\s*"
    r"(?:[-–—:,]?\s*(?:@[\w-]+|<[^>]*>|\([^)]*\)|\[[^\]]*\]\([^)]*\)|`[^`]*`_{0,2}|https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+)\s*)*$"
)


# Words that make a Title Case line a heading or a table of contents entry rather than a name.
_NOT_NAME_WORDS = frozenset(
    """the and of to in for with on a an is are how what why your our api guide reference getting started
advanced usage install installation configuration config overview introduction tutorial examples example docs
documentation quickstart testing deployment release notes changelog license support features faq index page
server client request response error errors data file files model models type types user users project
settings options command commands plugin plugins extension extensions""".split()
)


def _person(line: str) -> bool:
    if not _PERSON.match(line) or re.search(r"\]\((?:[^)]*\.(?:md|rst|html?|txt)|#[^)]*)\)", line):
        return False  # a table of contents entry links to a page or an anchor, a person to a profile
    name = re.sub(r"@[\w-]+|<[^>]*>|\([^)]*\)|https?://\S+|`[^`]*`|\S+@\S+", " ", line)
    return not any(w.lower() in _NOT_NAME_WORDS for w in re.findall(r"[^\W\d_]+", name))


def people_list(text: str) -> bool:
    """True when most lines of a text are people's names (a roster of authors, maintainers or
    contributors, with or without handles and links): such a list teaches nothing and names people."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    lines = [ln for ln in lines if not re.fullmatch(r"\s*[=\-~^*]{3,}\s*", ln)]
    names = sum(_person(ln) for ln in lines)
    return names >= 4 and names >= 0.6 * len(lines)


def _community_title(units: list[dict]) -> bool:
    """A document whose title is a community page's ("Contributing to X", "Code of Conduct", "Authors")."""
    heads = [u["heading_path"][0] for u in units if u.get("kind") == "section" and len(u.get("heading_path") or []) > 0]
    return bool(heads) and bool(_COMMUNITY_TITLE.match(str(heads[0]).strip(" #*")))


def default_category(kind: str) -> str:
    """For units written before categories existed: documents are docs, code is source."""
    return "docs" if kind == "section" else "source"


def _mostly_versions(units: list[dict]) -> bool:
    """A document most of whose headings are versions ('2.3.0', 'Version 1.1', 'v3.5.0 (2024-01-02)')."""
    heads = [u["name"] for u in units if u["kind"] == "section" and u.get("heading_path")]
    hits = sum(1 for h in heads if _VERSION_HEADING.match(h))
    return hits >= 2 and hits >= 0.5 * len(heads)


def _requirement_listing(units: list[dict]) -> bool:
    """A text file every line of which is a requirement (`httpx>=0.27`, `-r base.txt`), one at least pinned."""
    lines = [
        line
        for u in units
        for line in (u.get("text") or "").split("\n")
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return (
        bool(lines)
        and all(_REQUIREMENT.match(line) for line in lines)
        and any(re.search(r"[<>=!~]=|===|^\s*-[rce]\s|^\s*--", line) for line in lines)
    )


def _marketing_title(units: list[dict]) -> bool:
    """A document whose title asks for money or shows off users ("Sponsor Starlette & Uvicorn", "Who uses X")."""
    heads = [u["heading_path"][0] for u in units if u.get("kind") == "section" and len(u.get("heading_path") or []) > 0]
    return bool(heads) and bool(_MARKETING_TITLE.match(str(heads[0]).strip(" #*✨💖🙏")))


def _templated(units: list[dict], language: str | None) -> bool:
    """A document with template statements (`{% for %}`, `{%- if %}`) in its prose: a template of any
    engine, whatever its extension. Expressions alone (`{{ x }}`) count only in HTML, where docs quote
    them less often than Markdown pages about templating do."""
    text = "\n".join(u.get("text") or "" for u in units)
    prose = re.sub(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[^\n]*$|`[^`\n]*`", " ", text, flags=re.S | re.M)
    statements = len(re.findall(r"\{%-?\s", prose))
    return statements >= 2 or (language == "html" and len(_TEMPLATE_TAGS.findall(text)) >= 2)


def _doc_languages(units: list[dict]) -> tuple[dict[str, str], dict[str, int]]:
    """({path: identified language}, {path: words}) of the documents among `units`."""
    from corpus_ft.ingest.language import text_language

    texts: dict[str, list[str]] = {}
    for u in units:
        if u.get("kind") == "section":
            texts.setdefault(u.get("path") or "", []).append(u.get("text") or "")
    found = {path: text_language("\n".join(parts)[:20_000]) for path, parts in texts.items()}
    return found, {path: sum(len(t.split()) for t in parts) for path, parts in texts.items()}


def corpus_language(units: list[dict]) -> str:
    """The language most words of the documentation are written in ('en' when nothing tells)."""
    from collections import Counter

    found, words = _doc_languages(units)
    votes: Counter = Counter()
    for path, lang in found.items():
        if lang:
            votes[lang] += words[path]
    return votes.most_common(1)[0][0] if votes else "en"


def translations(units: list[dict]) -> dict[str, str]:
    """{path: language} of the documents that are translations: their prose is identified as another
    language than the corpus's own, or (too little prose to tell) their path follows a translation
    convention (`README.de.md`, `README_zh-CN.md`, `docs/ja/...`) naming another language.

    The corpus's own language is the one most words of its documentation are in: a German
    organisation's docs stay, their `README.en.md` goes.
    """
    from corpus_ft.ingest.language import path_language

    found, _words = _doc_languages(units)
    own = corpus_language(units)
    out = {}
    for path, lang in found.items():
        declared = path_language(path)
        if (lang and lang != own) or (not lang and declared and declared != own):
            out[path] = lang or declared
    return out
