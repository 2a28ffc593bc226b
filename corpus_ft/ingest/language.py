"""Which human language a document is written in, offline: the script its letters use, and for
Latin-script text the share of each language's commonest function words. Used to leave translated
documentation out of datasets (one language per corpus teaches one voice) unless a recipe keeps it.

Codes are ISO 639-1 ("en", "de", "zh"); "" means too little prose to tell.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

# Function words that are frequent in running text of one language and rare in the others'.
_STOP = {
    "en": "the and of to is in that it for are with as be this on not you or can by an from which have if will when",
    "de": "der die und das ist nicht ein eine zu den mit sich des auf für im dem werden wird auch oder wenn kann",
    "fr": "le la les et des est une pour que dans qui pas sur avec sont par ce vous au du ou peut cette",
    "es": "el la los las que es y en del para una por con se su como pero más puede este está al o",
    "pt": "o os que é em do da para uma com não se por como mais ao dos das você pode seu sua",
    "it": "il di che è la per una non con sono gli del della le da si come più può questo anche",
    "nl": "de het een en van is dat niet op te voor met zijn ook als je kan wordt door bij",
    "sv": "och att det som är en på för med av den till har inte om kan ett du eller",
    "pl": "i w nie się na jest to że z do co jak o dla jego ale przez może oraz",
    "tr": "ve bir bu için ile da de olarak daha çok gibi olan ise ya veya kadar sonra",
    "id": "dan yang di untuk dengan ini dari dalam tidak akan pada adalah atau juga dapat anda",
    "vi": "và của là có các được cho trong không một những với này để khi người",
}
_STOP_SETS = {lang: frozenset(words.split()) for lang, words in _STOP.items()}
# Scripts that name their language outright (or nearly: Han without kana is read as Chinese).
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[^\n]*$|`[^`\n]*`|https?://\S+|<[^>\n]+>", re.S | re.M)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Language codes as they appear in translated file and folder names: "zh", "pt-br", "zh_CN", "de-ch", "kr".
LANG_CODES = frozenset(
    """ar bg bn ca cn cs da de el es et fa fi fr he hi hr hu id it ja jp ko kr lt lv ms nb nl no pl pt ro ru sk
sl sr sv th tr tw uk ur vi zh""".split()
)
_LANG_TAG = r"(?:[a-z]{2})(?:[-_](?:[a-z]{2}|hans|hant|latn|cyrl))?"
_TRANSLATED_NAME = re.compile(rf"^(?:readme|index|contributing|faq|guide|changelog)[._-]({_LANG_TAG})\.\w+$", re.I)


def _region(code: str) -> str:
    """The language part of a tag ("pt-br" -> "pt", "zh_CN" -> "zh"), with the common misspellings."""
    lang = re.split(r"[-_]", code.lower())[0]
    return {"cn": "zh", "tw": "zh", "kr": "ko", "jp": "ja", "no": "nb"}.get(lang, lang)


def path_language(rel: str) -> str:
    """The language a path's naming convention declares (`README.ja.md`, `README_zh-CN.md`, `docs/de/…`), or ''.

    For translated documentation kept beside the original: the code is a file-name suffix of a
    top-level kind of page, or a folder named only by a language code inside a docs tree.
    """
    path = PurePosixPath(rel)
    m = _TRANSLATED_NAME.match(path.name)
    if m and _region(m.group(1)) in LANG_CODES | {"en"}:
        return _region(m.group(1))
    parts = [p.lower() for p in path.parts[:-1]]
    for i, part in enumerate(parts):
        if re.fullmatch(_LANG_TAG, part) and _region(part) in LANG_CODES | {"en"}:
            inside_docs = any(
                p in ("docs", "doc", "documentation", "i18n", "locales", "translations") for p in parts[:i]
            )
            if inside_docs or i == 0 and part in ("zh", "ja", "ko", "zh-cn", "zh_cn", "zh-tw", "zh_tw", "pt-br"):
                return _region(part)
    return ""


def text_language(text: str, min_words: int = 20) -> str:
    """The language of a text's prose (code, code spans, URLs and tags left out), or '' when unsure."""
    # tables are names and figures ("27364 ns/op | 0 B/op"), not sentences
    prose = "\n".join(ln for ln in _CODE.sub(" ", text).split("\n") if ln.count("|") < 2)
    letters = [ch for ch in prose if ch.isalpha()]
    if len(letters) < 40:
        return ""
    for lang, script in _SCRIPTS:
        if len(script.findall(prose)) >= 0.2 * len(letters):
            return lang  # a fifth of the letters in a script other than Latin: English names do the rest
    words = [w.lower() for w in _WORD.findall(prose)]
    if len(words) < min_words:
        return ""
    hits = Counter({lang: sum(w in stop for w in words) for lang, stop in _STOP_SETS.items()})
    (best, n), *rest = hits.most_common(2) + [("", 0)]
    second = rest[0][1]
    distinct = len({w for w in words if w in _STOP_SETS.get(best, ())})
    if n < max(3, 0.08 * len(words)) or n < 1.5 * second or distinct < 4:
        return ""  # a language shows in several of its function words, not one repeated ("op", "de")
    return best
