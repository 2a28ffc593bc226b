"""Secrets and personal data never reach a dataset: redact unit text before any record exists.

Two layers: regexes for what must always go (e-mail and IP addresses, private-key blocks,
AWS keys, GitHub/Slack tokens, `password = ...` style assignments) and detect-secrets'
plugins (JWTs, basic-auth URLs, Stripe/OpenAI/npm/PyPI tokens, secret keywords, ...) run on
every line. The entropy plugins are left out: on prose they flag ordinary words.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from functools import lru_cache

PLACEHOLDER = "[REDACTED_{}]"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)", re.S)
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("basic_auth", re.compile(r"(?<=://)[^:/\s@]+:[^@\s/]+(?=@)")),  # user:password@host in URLs
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+")),
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
]
# `password = "x"`, `DB_PASSWORD=x`, `api_key: x`, `"token": "x"`: the value goes, the key stays.
_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<key>\b[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[\w.-]*["']?
      (?:\s*:\s*[A-Za-z_][\w\[\].]*(?:\s*\|\s*[A-Za-z_][\w\[\].]*)*(?=\s*=[^=>]))?)  # a type annotation: `password: str = ...`
    (?P<sep>\s*(?::=|=>|[:=])\s*)
    (?P<q>["']?)(?P<value>[^\s"',;#)}\]]{3,})(?P=q)""")
# A credential's fallback written into code: `os.environ.get("DB_PASSWORD", "hunter2")`,
# `System.getenv().getOrDefault("API_TOKEN", "x")`, `process.env.DB_PASSWORD || "x"`.
_CREDENTIAL_NAME = r"[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[\w.-]*"
_ENV_DEFAULT = re.compile(
    rf"""(?ix)
    (?P<head>(?:(?:getenv|environ\.get|getOrDefault|get)\s*\(\s*(?P<q1>["']){_CREDENTIAL_NAME}(?P=q1)\s*,\s*
             |(?:process\.env|os\.environ)\.{_CREDENTIAL_NAME}\s*(?:\|\||\?\?|or)\s*))
    (?P<q>["'])(?P<value>[^"']{{3,}})(?P=q)""")
# Every detect-secrets plugin we run needs a long token, a credential keyword or a URL with a
# password; lines with none of them (most prose) skip the ~20 plugins.
_MAY_HOLD_SECRET = re.compile(r"[A-Za-z0-9_+/=.:-]{16,}|key|pass|pwd|secret|token|auth|cred|contrase|://", re.I)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_KEEP_IPS = {"127.0.0.1", "0.0.0.0", "::1", "::", "255.255.255.255"}
_CODE_LANGS = {"python", "java", "go", "javascript", "typescript", "c", "cpp", "rust", "ruby", "c_sharp", "csharp",
               "kotlin", "scala", "php", "swift"}
_REFERENCE = re.compile(r"^(?:\$|%|<|\{|\.{3}|\[REDACTED|os\.|env\.|process\.env|getenv|none$|null$|true$|false$|\*+$|x+$)", re.I)
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*)?$")


def _is_ip(candidate: str) -> bool:
    if candidate in _KEEP_IPS:
        return False
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if addr.version == 6:  # keep C++/Rust paths like `a::b` and clock times out of it
        return any(c.isdigit() for c in candidate) and (candidate.count(":") >= 3 or len(candidate) >= 6)
    return True


def _assignment_value_is_secret(value: str, quoted: bool, language: str, key: str = "") -> bool:
    if _REFERENCE.match(value) or re.search(r"\w\(", value) or (not quoted and value.lower() in key.lower()):
        return False
    # In code, `password = password` or `token = get_token()` names a variable, not a secret.
    return quoted or language not in _CODE_LANGS or not _IDENTIFIER.match(value)


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    """detect-secrets' plugin instances, minus the entropy ones (too noisy on prose)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return tuple(cls() for name, cls in sorted(get_mapping_from_secret_type_to_class().items())
                 if "Entropy" not in name and "ipv4" not in name.lower())


def _type_name(secret_type: str) -> str:
    """detect-secrets' "JSON Web Token" -> "json_web_token" (the stats key and placeholder)."""
    return re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")


def _redact_line(line: str, filename: str, language: str, counts: Counter) -> str:
    for name, pattern in _PATTERNS:
        line, n = pattern.subn(PLACEHOLDER.format(name.upper()), line)
        if n:
            counts[name] += n

    def ip(m: re.Match) -> str:
        if not _is_ip(m.group(0)):
            return m.group(0)
        counts["ip_address"] += 1
        return PLACEHOLDER.format("IP_ADDRESS")

    line = _IPV6.sub(ip, _IPV4.sub(ip, line))

    def assignment(m: re.Match) -> str:
        if not _assignment_value_is_secret(m.group("value"), bool(m.group("q")), language, m.group("key")):
            return m.group(0)
        counts["secret_keyword"] += 1
        return f"{m.group('key')}{m.group('sep')}{m.group('q')}{PLACEHOLDER.format('SECRET')}{m.group('q')}"

    line = _ASSIGNMENT.sub(assignment, line)

    def env_default(m: re.Match) -> str:
        if _REFERENCE.match(m.group("value")):
            return m.group(0)
        counts["secret_keyword"] += 1
        return f"{m.group('head')}{m.group('q')}{PLACEHOLDER.format('SECRET')}{m.group('q')}"

    line = _ENV_DEFAULT.sub(env_default, line)
    if not _MAY_HOLD_SECRET.search(line):
        return line
    for plugin in _plugins():
        for found in plugin.analyze_line(filename=filename, line=line, line_number=0, context=None):
            value = found.secret_value or ""
            if len(value) < 4 or value not in line or "REDACTED" in value:
                continue
            if found.type == "Secret Keyword" and not _assignment_value_is_secret(value, False, language):
                continue  # the keyword plugin also flags `password = other_variable` in code
            start = line.index(value)
            end = start + len(value)
            while end < len(line) and re.match(r"[\w.+/=-]", line[end]):  # the whole token, not a prefix
                end += 1
            name = _type_name(found.type)
            counts[name] += 1
            line = line[:start] + PLACEHOLDER.format(name.upper()) + line[end:]
    return line


def redact(text: str, *, filename: str = "text.txt", language: str = "text",
           counts: Counter | None = None) -> str:
    """`text` with every secret and personal datum replaced by `[REDACTED_<TYPE>]`; counts by type."""
    counts = Counter() if counts is None else counts
    if not text:
        return text

    def key_block(m: re.Match) -> str:
        counts["private_key"] += 1
        return PLACEHOLDER.format("PRIVATE_KEY")

    text = _PRIVATE_KEY.sub(key_block, text)
    return "\n".join(_redact_line(line, filename, language, counts) for line in text.split("\n"))


_UNIT_FIELDS = ("text", "name", "signature", "docstring")


def redact_unit(unit: dict, counts: Counter) -> dict:
    """A copy of a units.parquet row with every text field redacted; only `text` is counted."""
    path, language = unit.get("path") or "text.txt", unit.get("language") or "text"
    out = dict(unit)
    for field in _UNIT_FIELDS:
        if isinstance(out.get(field), str):
            out[field] = redact(out[field], filename=path, language=language,
                                counts=counts if field == "text" else Counter())
    if out.get("heading_path") is not None:
        out["heading_path"] = [redact(h, filename=path, language=language) for h in out["heading_path"]]
    return out
