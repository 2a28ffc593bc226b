"""Secrets and personal data never reach a dataset: redact unit text before any record exists.

Two layers: regexes for what must always go (e-mail and IP addresses, private-key blocks,
AWS keys, GitHub/Slack tokens, `password = ...` style assignments) and detect-secrets'
plugins (JWTs, basic-auth URLs, Stripe/OpenAI/npm/PyPI tokens, secret keywords, ...) run on
every line. The entropy plugins are left out: on prose they flag ordinary words.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import itertools
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

PLACEHOLDER = "[REDACTED_{}]"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)", re.S
)

# Current token formats of the major providers: (name, pattern, a made-up example). The name is
# the placeholder and the stats key; tests/test_redact.py redacts every example. Order matters
# where prefixes overlap (sk-ant- before sk-).
TOKEN_FORMATS: list[tuple[str, str, str]] = [
    (
        "anthropic_key",
        r"\bsk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_-]{20,}",
        "sk-ant-api03-Zq8xW2vR7tY5uI1oP3aS6dF9gH4jK0lZ2xC5vB8nM1qW4eR7tY0uI3oP6aS9dF2gH5jK8lZ1xC4vB7nM0q-AbCdEfAA",
    ),
    (
        "openai_key",
        r"\bsk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9]{20,}T3BlbkFJ[A-Za-z0-9]{20,}"
        r"|\bsk-[A-Za-z0-9]{40,}\b",
        "sk-proj-Rk3vT8yW1qZ5xN9mB2cF6hJ0lP4sD7gA1eI5oU8yT3rW6qZ9xN2mB5cF8hJ1lP4sD7gA0eI3oU6yT9rW2qZ5xN8mB1c",
    ),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("google_oauth_secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}\b", "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"),
    (
        "github_token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b",
        "github_pat_11ABCDEFG0Qw3rTy8uIoP4_aSdFgHjK1zXcVbNm2QwErTyUiOpAsDfGhJkLzXcVbNm1234567890",
    ),
    ("gitlab_token", r"\bgl(?:pat|dt|ptt|rt|cbt|oas)-[A-Za-z0-9_-]{20,}", "glpat-Xy7k2p9QwZZ12aBcDeFg"),
    (
        "slack_token",
        r"\bxox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
        "xoxp-902311445566-7788990011223-Qw3rTy8uIoP4aSdFgHjK1zXc",
    ),
    ("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", "rk_live_51HqLyjWDarjtT1zdp7dcXbN3kF"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b", "hf_QwErTyUiOpAsDfGhJkLzXcVbNm1234567890"),
    ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", "npm_Qw3rTy8uIoP4aSdFgHjK1zXcVbNm5678QwEr"),
    ("pypi_token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}", "pypi-AgEIcHlwaS5vcmcCJDk3ZmY0YjA2LWE1NjEtNGNkZi05"),
    (
        "sendgrid_key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
        "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",
    ),
    ("digitalocean_token", r"\bdo[pr]_v1_[a-f0-9]{64}\b", "dop_v1_" + "3f9a" * 16),
    ("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", "shpat_" + "a1b2c3d4" * 4),
    ("databricks_token", r"\bdapi[a-f0-9]{32}\b", "dapi" + "0f1e2d3c" * 4),
    (
        "aws_access_key",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
        "AKIAZ3MPLEQ7KEYV2X9Q",
    ),
    (
        "azure_storage_key",
        r"(?i:(?<=AccountKey=)[A-Za-z0-9+/]{20,}={0,2}|(?<=SharedAccessSignature=)[^;\s\"']{10,}"
        r"|(?<=[?&]sig=)[A-Za-z0-9%+/=]{20,})",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2E9PQ==;",
    ),
    (
        "json_web_token",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        "bearer_token",
        r"(?i:(?<=\bBearer ))[A-Za-z0-9._~+/-]{16,}=*",
        "Authorization: Bearer 4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d",
    ),
    ("basic_auth", r"(?<=://)[^:/\s@]+:[^@\s/]+(?=@)", "postgres://svc:Sup3rS3cret@db.internal:5432/app"),
    (
        "basic_auth_header",
        r"(?<=\bBasic )(?=[A-Za-z]*+[0-9+/=])[A-Za-z0-9+/]{12,}+={0,2}(?![A-Za-z0-9+/=])",
        "Authorization: Basic c3ZjOlN1cDNyUzNjcmV0LTIwMjY=",
    ),
    (
        "email",
        r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        "dana.ortiz@northwind-corp.com",
    ),
]
# One pass over a line for every format (an alternation tries them in table order at each position).
_TOKENS = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx, _ in TOKEN_FORMATS))
# A literal every format above needs (case-sensitive where the format is): a line with none skips
# the alternation, which is 10x slower than this scan. Keep in step with TOKEN_FORMATS.
_TOKEN_HINT = re.compile(
    r"sk[-_]|rk_|AIza|GOCSPX|gh[pousr]_|github_pat_|gl[a-z]{1,3}-|xox|hooks\.slack|hf_|npm_|pypi-"
    r"|SG\.|do[pr]_v1|shp|dapi|A[BCGIKNRS][A-Z]A|eyJ|://|@|Basic |(?i:accountkey|sharedaccess|sig=|bearer)"
)
# An AWS secret access key is 40 base64 characters with no prefix: only taken where the line
# names AWS or a secret, and only when it mixes cases and digits like a generated key.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_CONTEXT = re.compile(r"(?i)aws|secret|access.?key")
AWS_SECRET_EXAMPLE = "aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"

# Prose that states a credential: "The database password is Xy7#k2p9Qw for staging.",
# "pwd: Xy7#k2p9Qw", "token Xy7k2p9QwZZ12", "the API key for staging was 9f8e7d6c5b".
_PROSE_KEY = re.compile(
    r"(?i)\b(?:passw(?:or)?ds?|passphrase|pwd|secret(?:\s+key)?|tokens?|api[\s_-]?keys?"
    r"|access[\s_-]?keys?|credentials?)\b"
)
_PROSE_WORDS = 6  # the value is one of the next few words of the same sentence
_PROSE_REACH = 400  # characters after the credential word that those words may span
_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_HOSTNAME = re.compile(r"^[a-z][\w-]*(?:\.[\w-]+)*\.[a-z]{2,}$|^[\w-]+:[\w-]+$")  # host.example, scope:write
_WORDY = re.compile(r"^[a-z]+(?:-[a-z]+)*$|^[A-Z][a-z]+$")  # plain words, never a secret
# `password = "x"`, `DB_PASSWORD=x`, `api_key: x`, `"token": "x"`, `dbPass := "x"`: the value goes, the
# key stays. A key is a whole name ([\w.-]) holding a credential word; found from the word outward, so
# one pass is linear however long a token is (a leading `[\w.-]*` was quadratic on a 200 KB token).
_CRED_WORD = re.compile(
    r"(?i:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"
    r"|(?<![A-Za-z])(?:pass|Pass|PASS)(?![a-z])|(?<=[a-z])Pass(?![a-z])"  # pass, db_pass, DB_PASS, dbPass
)
_KEY_CHARS = re.compile(r"[\w.-]*+")
_AFTER_KEY = re.compile(
    r"""(?x)
    (?P<close>["'`]?)
    (?P<ann>\s*:\s*[A-Za-z_][\w\[\].]*+(?:\s*\|\s*[A-Za-z_][\w\[\].]*+)*(?=\s*=[^=>]))?  # `password: str = ...`
    (?P<sep>[ \t]*(?::=|=>|[:=])[ \t]*)
    (?:(?P<prefix>[bBrRuUfF]{0,2})(?P<q>["'`])(?P<qvalue>(?:(?!(?P=q))[^\n\\]|\\.){3,}+)(?P=q)  # a literal
      |(?P<value>[^\s"'`,;()\[\]{}|]{3,}+)(?![\[(]))      # a bare value, never an expression: `request.form[...]`
    """
)
# A credential's fallback written into code: `os.environ.get("DB_PASSWORD", "hunter2")`,
# `System.getenv().getOrDefault("API_TOKEN", "x")`, `process.env.DB_PASSWORD || "x"`.
_CREDENTIAL_NAME = (
    r"[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[\w.-]*"
)
_ENV_DEFAULT = re.compile(
    rf"""(?ix)
    (?P<head>(?:(?:getenv|environ\.get|getOrDefault|get)\s*\(\s*(?P<q1>["']){_CREDENTIAL_NAME}(?P=q1)\s*,\s*
             |(?:process\.env|os\.environ)\.{_CREDENTIAL_NAME}\s*(?:\|\||\?\?|or)\s*))
    (?P<q>["'])(?P<value>[^"']{{3,}})(?P=q)"""
)
# Every detect-secrets plugin we run needs a long token, a credential keyword or a URL with a
# password; lines with none of them (most prose) skip the ~20 plugins.
_MAY_HOLD_SECRET = re.compile(r"[A-Za-z0-9_+/=.:-]{16,}|key|pass|pwd|secret|token|auth|cred|contrase|://", re.I)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_KEEP_IPS = {"127.0.0.1", "0.0.0.0", "::1", "::", "255.255.255.255"}
_CODE_LANGS = {
    "python",
    "java",
    "go",
    "javascript",
    "typescript",
    "c",
    "cpp",
    "rust",
    "ruby",
    "c_sharp",
    "csharp",
    "kotlin",
    "scala",
    "php",
    "swift",
}
_REFERENCE = re.compile(
    r"^(?:\$|%|<|\{|\.{3}|\[REDACTED|os\.|env\.|process\.env|getenv|none$|null$|true$|false$|\*+$|x+$)", re.I
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*)?$")
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--|;)")
# A fenced block in a document section (Markdown, and reST code that ingest writes as a fence):
# its lines are code of the fence's language, never prose. Aliases map to the _CODE_LANGS names.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*\{?\s*([^\s`{}]*)")
_LANG_ALIASES = {
    "py": "python",
    "py3": "python",
    "python3": "python",
    "pycon": "python",
    "ipython": "python",
    "ipython3": "python",
    "js": "javascript",
    "jsx": "javascript",
    "node": "javascript",
    "mjs": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "golang": "go",
    "rs": "rust",
    "c++": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "h": "c",
    "hpp": "cpp",
    "cs": "csharp",
    "c#": "csharp",
    "kt": "kotlin",
    "rb": "ruby",
}
_TRIPLE_QUOTE = re.compile(r'"""|\'\'\'')
_DOCSTRING_OPEN = re.compile(r'^\s*[rRuUbBfF]{0,2}(?:"""|\'\'\')')
# `billiard==3.6.4.0`, `version 1.2.3.4`, `v10.0.0.1`: a version, not an address.
_VERSION_BEFORE = re.compile(r"(?i)(?:[=<>~!^]=?=?\s*|\bv|\b(?:version|release|rev|tag|build)s?[\s:=]*)$")


# Addresses that name no one: reserved for documentation (RFC 2606 second-level names, RFC 6761
# special-use names) and the names of a git remote (`git@host:org/repo.git`). The `.example` top-level
# name is NOT in the list: a sample company's domain is written that way and its people's addresses go.
_RESERVED_MAIL = re.compile(r"(?i)(?:^|\.)(?:example\.(?:com|net|org)|invalid|test|localhost|local)$")
# Networks reserved for documentation (RFC 5737, RFC 3849) and loopback: no host of anyone's.
_DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "127.0.0.0/8", "::1/128")
)
# A team's published contact (security@, support@ ...) at the project's own public domain is no
# one's personal data; `public_domains` (from the project's package metadata) says which domains.
_ROLE_LOCAL = re.compile(
    r"(?i)^(?:security|secalert|support|help|info|contact|hello|team|conduct|coc|maintainers?|privacy|abuse"
    r"|opensource|oss|community|press|legal|licensing|noreply|no-reply|webmaster|admin|sales|feedback)$"
)
_PUBLIC_DOMAINS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("public_domains", default=frozenset())


@contextlib.contextmanager
def public_domains(domains: Iterable[str]) -> Iterator[None]:
    """Within the block, a role address (security@, support@ ...) at one of `domains` is kept."""
    token = _PUBLIC_DOMAINS.set(frozenset(d.lower() for d in domains))
    try:
        yield
    finally:
        _PUBLIC_DOMAINS.reset(token)


# Where a project names its own web site: package metadata, read as text (no build tool needed).
_METADATA_URLS = (
    ("pyproject.toml", re.compile(r"(?ims)^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)|^\s*homepage\s*=\s*(.*)$")),
    ("setup.cfg", re.compile(r"(?im)^\s*(?:url|home_page)\s*=\s*(.*)$|^\s*project_urls\s*=((?:\n[ \t]+.*)+)")),
    ("package.json", re.compile(r'(?i)"homepage"\s*:\s*("[^"]*")')),
    ("Cargo.toml", re.compile(r"(?im)^\s*(?:homepage|documentation)\s*=\s*(.*)$")),
)
_URL_HOST = re.compile(r"https?://(?:www\.)?([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Hosts that serve many projects: a contact there is not the project's own.
_SHARED_HOSTS = re.compile(
    r"(?i)(?:^|\.)(?:github\.com|github\.io|gitlab\.com|bitbucket\.org|readthedocs\.(?:io|org)|pypi\.org"
    r"|npmjs\.(?:com|org)|crates\.io|docs\.rs|discord\.(?:gg|com)|gitter\.im|tidelift\.com|opencollective\.com"
    r"|pkg\.go\.dev|sourceforge\.net|gmail\.com|google\.com)$"
)


def project_domains(repo: str | os.PathLike | None) -> frozenset[str]:
    """The project's own web domains from its package metadata (`flask.palletsprojects.com` ->
    `palletsprojects.com`); empty when the repository is unknown or names none."""
    if not repo:
        return frozenset()
    found = set()
    for name, rx in _METADATA_URLS:
        try:
            text = (Path(repo) / name).read_text(encoding="utf-8", errors="replace")[:200_000]
        except OSError:
            continue
        for m in rx.finditer(text):
            for host in _URL_HOST.findall(" ".join(g for g in m.groups() if g)):
                if not _SHARED_HOSTS.search(host):
                    found.add(".".join(host.lower().split(".")[-2:]))
    return frozenset(found)


# A placeholder address names no one: a metasyntactic or generic mailbox (`foo@`, `user@`, `john.doe@`, the
# `localhost` of `http://localhost@host`) or a metasyntactic domain (`@bar.com`, `@yourdomain.com`).
_PLACEHOLDER_LOCAL = re.compile(
    r"(?i)^(?:foo|bar|baz|qux|quux|foobar|user(?:name)?|someone|somebody|nobody|localhost|(?:john|jane)[._-]?doe)$"
)
_PLACEHOLDER_DOMAIN = re.compile(r"(?i)(?:^|\.)(?:foo|bar|baz|qux|foobar|(?:your|my)?domain|yourcompany)\.[a-z]{2,3}$")


def _is_personal_email(m: re.Match) -> bool:
    """An e-mail address that may name a person: not a reserved or placeholder name, a git remote or a
    public contact."""
    local, _, domain = m.group(0).rpartition("@")
    if _RESERVED_MAIL.search(domain) or _PLACEHOLDER_LOCAL.match(local) or _PLACEHOLDER_DOMAIN.search(domain):
        return False
    if local == "git" and m.string[m.end() : m.end() + 1] == ":":
        return False  # git@host:org/repo.git is a remote, not a mailbox
    own = _PUBLIC_DOMAINS.get()
    return not (
        own and _ROLE_LOCAL.match(local) and any(domain.lower() == d or domain.lower().endswith("." + d) for d in own)
    )


# Personal data beyond e-mail and IP addresses, each with a check that makes a stray number unlikely:
# payment card numbers (Visa, Mastercard, Amex, Discover prefixes and lengths, Luhn checksum), IBANs
# (ISO 13616 mod-97 checksum) and phone numbers written in international form (`+` country code,
# 8-15 digits in all). National phone formats and national ID numbers are not recognised.
_CARD = re.compile(
    r"(?<![\w.+-])(?:4\d{3}|5[1-5]\d{2}|6011|65\d{2})(?:[ -]?\d{4}){3}(?![\w-])|(?<![\w.+-])3[47]\d{2}[ -]?\d{6}[ -]?\d{5}(?![\w-])"
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")
_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w.-]*\d)")
_DIGITS8 = re.compile(r"\d(?:\D{0,3}\d){7}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _iban_ok(value: str) -> bool:
    v = value.replace(" ", "")
    if not 15 <= len(v) <= 34:
        return False
    moved = v[4:] + v[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _redact_personal(line: str, counts: Counter) -> str:
    """Card numbers, IBANs and international phone numbers, each only when its check holds."""
    if not _DIGITS8.search(line):
        return line

    def card(m: re.Match) -> str:
        if not _luhn(re.sub(r"\D", "", m.group(0))):
            return m.group(0)
        counts["card_number"] += 1
        return PLACEHOLDER.format("CARD_NUMBER")

    def iban(m: re.Match) -> str:
        if not _iban_ok(m.group(0)):
            return m.group(0)
        counts["iban"] += 1
        return PLACEHOLDER.format("IBAN")

    def phone(m: re.Match) -> str:
        if not 8 <= len(re.sub(r"\D", "", m.group(0))) <= 15:
            return m.group(0)
        counts["phone_number"] += 1
        return PLACEHOLDER.format("PHONE_NUMBER")

    return _PHONE.sub(phone, _IBAN.sub(iban, _CARD.sub(card, line)))


# Private networks (RFC 1918, IPv6 unique-local): a range written as a CIDR (`10.0.0.0/8`) names a
# network class, not a host; a host address in one may be a real internal machine anywhere, a
# runbook's code block included, so it goes.
_PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
# `Chrome/120.0.0.0`, `AppleWebKit/537.36`: a product token's version in a User-Agent, not an address.
_PRODUCT_BEFORE = re.compile(r"(?<![/\w])[A-Za-z][\w.-]*/$")


def _netmask(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """`255.255.255.0`, `255.255.240.0`: a run of one bits then zeros is a subnet mask, no host."""
    bits = int(addr)
    ones = (~bits) & ((1 << addr.max_prefixlen) - 1)
    return addr.version == 4 and bits >> 24 == 255 and ones & (ones + 1) == 0


def _is_ip(candidate: str, cidr: bool = False) -> bool:
    """Whether a dotted quad or IPv6 text is a host's address that may be someone's: not loopback, a
    documentation network, a subnet mask, or a private network written as a range (`10.0.0.0/8`)."""
    if candidate in _KEEP_IPS:
        return False
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if any(addr.version == n.version and addr in n for n in _DOC_NETS) or _netmask(addr):
        return False
    if cidr and any(addr.version == n.version and addr in n for n in _PRIVATE_NETS):
        return False
    if addr.version == 6:  # keep C++/Rust paths like `a::b` and clock times out of it
        return any(c.isdigit() for c in candidate) and (candidate.count(":") >= 3 or len(candidate) >= 6)
    return True


# Values that stand for a secret in examples and templates, never one: `changeme`, `secret123`, `xxx`,
# `<your-token>`, `your_api_key`, `********`, `...`. Compared lower-case, digits and separators dropped.
_PLACEHOLDER_WORDS = {
    "changeme",
    "changeit",
    "secret",
    "secrets",
    "password",
    "passwd",
    "pass",
    "token",
    "apikey",
    "key",
    "mysecret",
    "mypassword",
    "yourpassword",
    "yoursecret",
    "yourtoken",
    "yourapikey",
    "yourkey",
    "example",
    "sample",
    "dummy",
    "test",
    "testing",
    "foo",
    "bar",
    "baz",
    "foobar",
    "hunter",
    "admin",
    "letmein",
    "qwerty",
    "abc",
    "abcdef",
    "abcd",
    "xyz",
    "none",
    "null",
    "nil",
    "empty",
    "required",
    "optional",
    "redacted",
    "hidden",
    "placeholder",
    "todo",
    "fixme",
    "tbd",
    "default",
    "string",
    "value",
    "dev",
    "devkey",
    "development",
    "local",
    "insecure",
    "user",
    "username",
    "guest",
    "demo",
    "s",
    "secure",
    "supersecret",
    "topsecret",
    "mypass",
    "pwd",
    "pw",
    "sekret",
    "correcthorsebatterystaple",  # the textbook example passphrase (four common words)
}
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|\.+|-+|_+|#+|0+|1234\d*|<[^<>]*>|\{\{[^{}]*\}\}|your[\w-]*|my[\w-]*)$")
# Type names after `password:` in signatures and schemas: `password: str`, `token: Optional[str]`.
_TYPE_WORDS = {
    "str",
    "string",
    "bytes",
    "int",
    "bool",
    "boolean",
    "any",
    "object",
    "secretstr",
    "secretbytes",
    "optional",
    "union",
    "list",
    "dict",
    "text",
    "varchar",
    "char",
    "number",
    "integer",
    "float",
}
# A filesystem path is where a secret lives, not the secret: `secrets_dir='/var/run'`, `~/.netrc`.
_PATH_VALUE = re.compile(r"^(?:~|\.{1,2})?/[\w.@%+/-]*$|^[A-Za-z]:\\[\w.\\ -]*$|^\$\{?\w+\}?/[\w./-]*$")
# An identifier made of plain words (`sa_credentials`, `settings.API_KEY`, `Optional[str]`): a reference.
_REFERENCE_NAME = re.compile(r"^[A-Za-z]+\d*(?:[._][A-Za-z]+\d*)+(?:\[[\w.\[\]]*\])?$|^[A-Za-z]+\[[\w.\[\], ]*\]$")


def is_placeholder(value: str) -> bool:
    """Whether a credential's value is an obvious stand-in (`changeme`, `secret123`, `xxx`, `<token>`)."""
    v = value.strip().strip("\"'`")
    squashed = re.sub(r"[\d_\-. ]+", "", v).lower()
    return bool(_PLACEHOLDER.match(v)) or squashed in _PLACEHOLDER_WORDS or not squashed


# A key whose last part names something about a credential, not the credential: `token_url`,
# `credentials__username`, `secret_key_file`, `password_length`.
_NOT_SECRET_KEY = re.compile(
    r"(?i)(?:^|[_.-]|(?<=[a-z])(?=[A-Z]))(?:user(?:name)?|login|name|id|type|kind|file|files|path|dir|url|uri|endpoint"
    r"|host|port|len(?:gth)?|size|count|env|var|field|header|prefix|policy|mode|format|expires?|expiry|ttl|timeout"
    r"|version|label|description|help|regex|pattern|min|max|source|provider)[\"'`]?$"
)


def _assignment_value_is_secret(value: str, quoted: bool, language: str, key: str = "") -> bool:
    if _REFERENCE.match(value) or re.search(r"\w\(", value) or (not quoted and value.lower() in key.lower()):
        return False
    if key and _NOT_SECRET_KEY.search(key.rstrip("\"'` :")):
        return False
    if re.search(r"\s", value.strip()) and any(_CRED_WORD.search(w) or is_placeholder(w) for w in value.split()):
        return False  # `"NO SECRET :("`: words about a secret, not one
    if is_placeholder(value) or _PATH_VALUE.match(value):
        return False
    if not quoted and (value.lower() in _TYPE_WORDS or _REFERENCE_NAME.match(value)):
        return False  # `password: str`, `credentials=sa_credentials`: a type or a name, not a value
    # In code only a literal is a secret: `password = password`, `token = get_token()` and
    # `pw = request.form["password"]` are expressions, and replacing them would break the code.
    return quoted or language not in _CODE_LANGS


# `src/main/java/acme/Token.java`: a relative file path (a `.ext` ends it; base64 has no dot) names a file.
_RELATIVE_FILE = re.compile(r"^[\w@+-]+(?:/[\w@+.-]+)*/[\w@+-][\w@+.-]*\.[A-Za-z][A-Za-z0-9]{0,7}$")


def _prose_value_is_secret(value: str) -> bool:
    """A word after "password is"/"token" that looks generated: mixed case and digits, or symbols."""
    if (
        len(value) < 8
        or _REFERENCE.match(value)
        or _WORDY.match(value)
        or "://" in value
        or value[0] in "/.~(["
        or _RELATIVE_FILE.match(value)
        or "REDACTED" in value
        or _HOSTNAME.match(value)
        or "=" in value.rstrip("=")
        or any(c in value for c in "<>\"'`{}[]()")
    ):
        return False  # markup, an assignment or an expression, not a value
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    special = any(c in "#$%&@!^~+/=?" for c in value)
    return letters and (digits and (mixed or special or len(value) >= 12) or special)


def _redact_prose(line: str, counts: Counter) -> str:
    """The first generated-looking word among the few after a credential word, in the same sentence."""
    spans = []
    for key in _PROSE_KEY.finditer(line):
        rest = line[key.end() : key.end() + _PROSE_REACH]  # bounded: a long paragraph stays linear
        end = _SENTENCE_END.search(rest)
        rest = rest[: end.start()] if end else rest
        for word in itertools.islice(_WORD.finditer(rest), _PROSE_WORDS):
            if word.start() == 0 and not rest.startswith((":", "=")):
                continue  # glued to the key word: `tokens-and-passwords.md`, `password_hash`
            value = word.group(0).strip(":=,;.!?()\"'`")
            if len(value) >= 6 and _prose_value_is_secret(value):
                start = key.end() + word.start() + word.group(0).index(value)
                spans.append((start, start + len(value)))
                break
    for start, end in sorted(set(spans), reverse=True):
        counts["secret_keyword"] += 1
        line = line[:start] + PLACEHOLDER.format("SECRET") + line[end:]
    return line


def _key_span(line: str, at: int) -> tuple[int, int]:
    """The whole name ([\\w.-]) around a credential word at `at`."""
    start = at
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_.-"):
        start -= 1
    return start, _KEY_CHARS.match(line, at).end()


# The rest of a description after a definition's first word: two more words of prose.
_DESCRIPTION = re.compile(r" +[A-Za-z(][\w,()-]* +[A-Za-z(]")


# A Maven/Gradle coordinate, `group:artifact[:version]`: a dotted group id, a colon with no space, a
# lowercase artifact id. It reads as `<credential name>: value` only when the group's last word holds a
# credential word inside it ("…webtoken", "…secrets"), never at a name boundary (`db.password:x` stays
# a credential).
_ARTIFACT = re.compile(r"[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*(?::[\w.{}$-]+)?$")


def _coordinate(key: str, word: re.Match, key_start: int, sep: str, value: str) -> bool:
    at = word.start() - key_start
    inside_a_word = at > 0 and key[at - 1].islower()
    return "." in key and inside_a_word and sep == ":" and bool(_ARTIFACT.match(value))


def _redact_assignments(line: str, language: str, counts: Counter) -> str:
    """`<credential name> = value` (any of `=`, `:`, `:=`, `=>`): a literal's contents or a bare value go."""
    spans: list[tuple[int, int, str]] = []
    done = -1
    for word in _CRED_WORD.finditer(line):
        if word.start() < done:
            continue  # a later credential word inside a name already looked at
        key_start, key_end = _key_span(line, word.start())
        done = key_end
        m = _AFTER_KEY.match(line, key_end)
        if not m:
            continue
        quoted = m.group("q") is not None
        value = m.group("qvalue") if quoted else m.group("value")
        if not quoted and (value.endswith(":") or (word.group(0).lower() == "pass" and m.group("sep")[0] in " \t")):
            continue  # `pass :data:` in prose: a verb and a reST role, not `pass: value`
        if not _assignment_value_is_secret(value, quoted, language, line[key_start:key_end]):
            continue
        if m.group("close") == "`" and not quoted and value.isalpha() and _DESCRIPTION.match(line, m.end()):
            continue  # "`pass_script_info`: API reference generated …": a code name and its description
        if _coordinate(line[key_start:key_end], word, key_start, m.group("sep"), value):
            continue  # `com.acmetoken:acme-core:1.2`: a build dependency's group and artifact, not a credential
        where = m.start("qvalue") if quoted else m.start("value")
        spans.append((where, where + len(value), "SECRET"))
        done = max(done, m.end())
    for start, end, name in reversed(spans):
        counts["secret_keyword"] += 1
        line = line[:start] + PLACEHOLDER.format(name) + line[end:]
    return line


def _is_version(line: str, start: int) -> bool:
    return bool(_VERSION_BEFORE.search(line[max(0, start - 12) : start]))


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    """detect-secrets' plugin instances, minus the entropy ones (too noisy on prose)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return tuple(
        cls()
        for name, cls in sorted(get_mapping_from_secret_type_to_class().items())
        if "Entropy" not in name and "ipv4" not in name.lower()
    )


def _type_name(secret_type: str) -> str:
    """detect-secrets' "JSON Web Token" -> "json_web_token" (the stats key and placeholder)."""
    return re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")


def _fence_language(info: str) -> str:
    """A fence's info string ("python", "{code-block} py", "pycon") as a redaction language."""
    lang = info.strip().lower()
    return _LANG_ALIASES.get(lang, lang) or "code_block"


def is_code_language(info: str) -> bool:
    """Whether a fence's info string names a programming language, where an unquoted value is an expression."""
    return _fence_language(info) in _CODE_LANGS


def _comment_start(line: str, language: str) -> int:
    """Where a trailing comment starts (`x = f()  # the token is ...`), outside string literals; -1 if none."""
    marker = "#" if language in ("python", "ruby") else "//"
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif line.startswith(marker, i):
            return i
        i += 1
    return -1


def _redact_code_line(line: str, filename: str, language: str, counts: Counter) -> str:
    """A line of code: literals everywhere, prose rules only in its trailing comment."""
    at = _comment_start(line, language)
    if at <= 0 or _COMMENT.match(line):
        return _redact_line(line, filename, language, counts, prose=bool(_COMMENT.match(line)))
    return _redact_line(line[:at], filename, language, counts, prose=False) + _redact_line(
        line[at:], filename, language, counts, prose=True
    )


def _redact_line(line: str, filename: str, language: str, counts: Counter, *, prose: bool = True) -> str:
    body = line.lstrip()
    if len(body) < len(line):  # deep indentation is most of a nested line: no pattern starts there
        return (
            line[: len(line) - len(body)] + _redact_line(body, filename, language, counts, prose=prose)
            if body
            else line
        )

    def token(m: re.Match) -> str:
        if m.lastgroup == "email" and not _is_personal_email(m):
            return m.group(0)
        if m.lastgroup == "basic_auth" and is_placeholder(m.group(0).rpartition(":")[2]):
            return m.group(0)  # `redis://user:pass@localhost`: the stand-in of an example
        counts[m.lastgroup] += 1
        return PLACEHOLDER.format(m.lastgroup.upper())

    if _TOKEN_HINT.search(line):
        line = _TOKENS.sub(token, line)

    def ip(m: re.Match) -> str:
        cidr = bool(re.match(r"/\d{1,3}\b", m.string[m.end() : m.end() + 4]))
        if (
            not _is_ip(m.group(0), cidr)
            or _is_version(m.string, m.start())
            or _PRODUCT_BEFORE.search(m.string[max(0, m.start() - 40) : m.start()])
        ):
            return m.group(0)
        counts["ip_address"] += 1
        return PLACEHOLDER.format("IP_ADDRESS")

    line = _redact_personal(_IPV6.sub(ip, _IPV4.sub(ip, line)), counts)

    line = _redact_assignments(line, language, counts)

    if _AWS_CONTEXT.search(line):

        def aws_secret(m: re.Match) -> str:
            v = m.group(0)
            if not (any(c.isupper() for c in v) and any(c.islower() for c in v) and any(c.isdigit() for c in v)):
                return v
            counts["aws_secret_key"] += 1
            return PLACEHOLDER.format("AWS_SECRET_KEY")

        line = _AWS_SECRET.sub(aws_secret, line)

    if prose:  # the caller decides: prose text, a comment or a docstring, never code
        line = _redact_prose(line, counts)

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
            if is_placeholder(value.rpartition(":")[2]):
                continue  # `redis://user:pass@localhost`, `password: changeme`: an example's stand-in
            if found.type == "Telegram Bot Token" and not re.search(r":.*\d", value):
                continue  # `21225780:Everymajor…` is a search tool's `line:match` output; a bot key has digits
            start = line.index(value)
            end = start + len(value)
            while end < len(line) and re.match(r"[\w.+/=-]", line[end]):  # the whole token, not a prefix
                end += 1
            name = _type_name(found.type)
            counts[name] += 1
            line = line[:start] + PLACEHOLDER.format(name.upper()) + line[end:]
    return line


def redact(text: str, *, filename: str = "text.txt", language: str = "text", counts: Counter | None = None) -> str:
    """`text` with every secret and personal datum replaced by `[REDACTED_<TYPE>]`; counts by type."""
    counts = Counter() if counts is None else counts
    if not text:
        return text

    def key_block(m: re.Match) -> str:  # one line stays one line: record spans are source lines
        counts["private_key"] += 1
        return PLACEHOLDER.format("PRIVATE_KEY") + "\n" * m.group(0).count("\n")

    text = _PRIVATE_KEY.sub(key_block, text)
    lines = text.split("\n")
    if language in _CODE_LANGS:
        return "\n".join(_redact_code(lines, filename, language, counts))
    return "\n".join(_redact_document(lines, filename, language, counts))


_TABLE_ROW = re.compile(r"^[ \t]*+\|?(?:[^|\n]*+\|)++[^|\n]*+$")
_TABLE_RULE = re.compile(r"^[ \t]*+\|?[ \t]*+:?-{2,}+:?[ \t]*+(?:\|[ \t]*+:?-{2,}+:?[ \t]*+)*+\|?[ \t]*+$")


def _cells(row: str) -> list[str]:
    return row.strip().strip("|").split("|")


def _redact_tables(lines: list[str], counts: Counter) -> list[str]:
    """A Markdown table whose header names a credential (`Password`, `API key`): the cells below it go."""
    out = list(lines)
    i = 0
    while i + 1 < len(out):
        if not (_TABLE_ROW.match(out[i]) and _TABLE_RULE.match(out[i + 1]) and "|" in out[i]):
            i += 1
            continue
        cols = [
            j
            for j, h in enumerate(_cells(out[i]))
            if (_CRED_WORD.search(h) or _PROSE_KEY.search(h)) and not re.search(r"(?i)\b(?:name|type|descr)", h)
        ]
        i += 2
        while i < len(out) and "|" in out[i] and _TABLE_ROW.match(out[i]):
            if cols:
                cells = _cells(out[i])
                for j in cols:
                    v = cells[j].strip().strip("`") if j < len(cells) else ""
                    if (
                        len(v) >= 3
                        and not re.search(r"\s", v)  # a sentence in a cell describes, a credential is one token
                        and "REDACTED" not in v
                        and _assignment_value_is_secret(v, True, "text")
                    ):
                        counts["secret_keyword"] += 1
                        cells[j] = cells[j].replace(v, PLACEHOLDER.format("SECRET"), 1)
                lead = out[i][: len(out[i]) - len(out[i].lstrip())]
                edge = "|" if out[i].strip().startswith("|") else ""
                out[i] = lead + edge + "|".join(cells) + ("|" if out[i].rstrip().endswith("|") else "")
            i += 1
    return out


# `password: |`, `password: >-` or `password:` with its value on the lines below (YAML block and plain
# scalars): the more-indented lines that follow are the value.
_NEXT_LINE_KEY = re.compile(r"^(?P<indent>[ \t]*+)-?[ \t]*+[\"']?[\w.-]++[\"']?[ \t]*+:[ \t]*+(?:[|>][+-]?\d*)?[ \t]*$")


def _redact_next_line_values(lines: list[str], counts: Counter) -> list[str]:
    out = list(lines)
    for i, line in enumerate(lines):
        m = _NEXT_LINE_KEY.match(line)
        if not m or not _CRED_WORD.search(line) or i + 1 >= len(lines):
            continue
        indent = len(m.group("indent"))
        j = i + 1
        while j < len(lines) and lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) > indent:
            body = lines[j].strip()
            if (re.match(r"^-?\s*[\w.-]+\s*:(?:\s|$)", body) and not line.rstrip().endswith(("|", ">", "-"))) or (
                not _assignment_value_is_secret(body, True, "text")
            ):
                break  # a nested mapping, or a placeholder/path, not the value
            counts["secret_keyword"] += 1
            out[j] = lines[j][: len(lines[j]) - len(lines[j].lstrip())] + PLACEHOLDER.format("SECRET")
            j += 1
    return out


def _redact_document(lines: list[str], filename: str, language: str, counts: Counter) -> list[str]:
    """Prose lines get every rule; a fenced block's lines are code of the fence's language."""
    lines = _redact_next_line_values(_redact_tables(lines, counts), counts)
    out: list[str] = []
    fence, fence_lang, block = "", "", []
    for line in lines:
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
                out += _redact_fenced(block, filename, fence_lang, counts)
                out.append(line)
                fence, block = "", []
            else:
                block.append(line)
        elif m:
            fence, fence_lang = m.group(1), _fence_language(m.group(2))
            out.append(line)
        else:
            out.append(_redact_line(line, filename, language, counts))
    if fence:  # an unclosed fence runs to the end of the section, as in CommonMark
        out += _redact_fenced(block, filename, fence_lang, counts)
    return out


def _redact_fenced(block: list[str], filename: str, fence_lang: str, counts: Counter) -> list[str]:
    """A fenced block's lines as code of its language."""
    if fence_lang in _CODE_LANGS:
        return _redact_code(block, filename, fence_lang, counts)
    return [_redact_line(b, filename, fence_lang, counts, prose=False) for b in block]


# A string literal of any of the code languages: Python prefixes, escapes, JS template and Go raw strings.
_LITERAL = re.compile(r"""[bBrRuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*+"|'(?:[^'\\\n]|\\.)*+'|`[^`]*+`)""")
_GLUE = re.compile(r"(?:[ \t]|\\\n|\+)*+")  # between literals on one line: spaces, `+`, a line continuation
_CODE_SEP = re.compile(r"[\"'`]?[ \t]*(?:[:=]=?|=>)(?![=>])[ \t]*")
# `auth=("admin", "…")`, `auth: ['admin', '…']`: a user and password pair; the password goes.
_AUTH_PAIR = re.compile(
    rf"(?<![\w.])auth\w*[\"']?\s*[:=]\s*[(\[]\s*(?:{_LITERAL.pattern})\s*,\s*(?P<pw>{_LITERAL.pattern})\s*[)\]]"
)


def _literal_body(lit: str) -> tuple[int, int]:
    """Offsets of a literal's contents inside its text (after any prefix and the quote)."""
    start = len(lit) - len(lit.lstrip("bBrRuUfF")) + 1
    return start, len(lit) - 1


def _credential_expressions(code: str, counts: Counter) -> str:
    """A credential assigned an expression made only of literals, however it is written: on the next
    line in parentheses, split by `+` or by implicit concatenation. Every literal of it goes; line
    breaks stay, so spans and line numbers do not move."""
    spans: list[tuple[int, int]] = []
    done = -1
    for word in _CRED_WORD.finditer(code):
        if word.start() < done:
            continue
        _, key_end = _key_span(code, word.start())
        done = key_end
        sep = _CODE_SEP.match(code, key_end)
        if not sep:
            continue
        at, depth, found = sep.end(), 0, []
        while at < len(code):
            glue = re.compile(r"(?:\s|\\\n|\+)*+" if depth else _GLUE.pattern).match(code, at)
            at = glue.end()
            if at < len(code) and code[at] == "(":
                depth, at = depth + 1, at + 1
                continue
            if at < len(code) and code[at] == ")" and depth:
                depth, at = depth - 1, at + 1
                continue
            lit = _LITERAL.match(code, at)
            if not lit:
                break
            found.append(lit)
            at = lit.end()
        rest = code[at : at + 1]
        if len(found) < 2 and not (found and "\n" in code[sep.end() : found[0].start()]):
            continue  # one literal on the line: the line rules handle it
        if depth or rest not in ("", "\n", ";", ",", ")", "}", "]", " ", "\r"):
            continue  # more than literals: an expression, left alone
        value = "".join(m.group(0)[slice(*_literal_body(m.group(0)))] for m in found)
        if not _assignment_value_is_secret(value, True, "code") or "REDACTED" in value:
            continue
        counts["secret_keyword"] += 1
        spans += [(m.start() + a, m.start() + b) for m in found for a, b in [_literal_body(m.group(0))] if b > a]
        done = max(done, at)
    for m in _AUTH_PAIR.finditer(code):
        lit = m.group("pw")
        a, b = _literal_body(lit)
        if b > a and _assignment_value_is_secret(lit[a:b], True, "code") and "REDACTED" not in lit:
            counts["secret_keyword"] += 1
            spans.append((m.start("pw") + a, m.start("pw") + b))
    for start, end in sorted(set(spans), reverse=True):
        code = code[:start] + PLACEHOLDER.format("SECRET") + "\n" * code.count("\n", start, end) + code[end:]
    return code


def _redact_code(lines: list[str], filename: str, language: str, counts: Counter) -> list[str]:
    """Code: literal values only; prose rules in comments and Python docstrings (not their doctest lines)."""
    if len(lines) > 1 or (lines and _CRED_WORD.search(lines[0])):
        lines = _credential_expressions("\n".join(lines), counts).split("\n")
    out: list[str] = []
    in_doc = False
    for line in lines:
        quotes = len(_TRIPLE_QUOTE.findall(line)) if language == "python" else 0
        docstring = (in_doc or bool(quotes and _DOCSTRING_OPEN.match(line))) and not line.lstrip().startswith(
            (">>>", "... ")
        )
        out.append(
            _redact_line(line, filename, language, counts, prose=True)
            if docstring
            else _redact_code_line(line, filename, language, counts)
        )
        if quotes % 2:
            in_doc = not in_doc
    return out


def redact_path(path: str, counts: Counter | None = None) -> str:
    """A file path with any token in its name replaced (`docs/runbook-ghp_….md`): paths are shown and
    trained on. Only the token formats apply (a name holds no prose or assignment), so it stays fast."""
    if not path:
        return path

    def token(m: re.Match) -> str:
        if counts is not None:
            counts[m.lastgroup] += 1
        return PLACEHOLDER.format(m.lastgroup.upper())

    path = _TOKENS.sub(token, path) if _TOKEN_HINT.search(path) else path
    if not _CRED_WORD.search(path):
        return path
    parts = []  # a name that states a credential: `password=Hunter2Xy9.md`, `token_9f8e7d6c5b4a3f2e.txt`
    for part in path.split("/"):
        stem, dot, suffix = part.rpartition(".") if "." in part.lstrip(".") else (part, "", "")
        shown = _redact_prose(_redact_assignments(stem, "text", counts if counts is not None else Counter()), Counter())
        parts.append(shown + dot + suffix)
    return "/".join(parts)


def redact_settings(value):
    """Settings as they are written into manifests, stats and cards: any token or URL credential
    (`http://user:pw@host`) in a string replaced, at any depth; everything else as it was."""
    if isinstance(value, str):
        return redact_path(value)
    if isinstance(value, dict):
        return {k: redact_settings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_settings(v) for v in value]
    return value


# Terminal escape sequences (CSI, OSC, other ESC pairs, C1 CSI) whole, then any other C0/C1
# control character except tab and newline: none belongs in a dataset or on a reviewer's terminal.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^\[\]]?|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def strip_control(text: str) -> tuple[str, int]:
    """`text` without terminal escapes and control characters (tab and newline stay), and how many went."""
    if not _ESCAPES.search(text):
        return text, 0
    removed = 0

    def drop(m: re.Match) -> str:
        nonlocal removed
        removed += len(m.group(0))
        return ""

    return _ESCAPES.sub(drop, text), removed


_UNIT_FIELDS = ("text", "name", "signature", "docstring")
# A docstring or doc comment kept apart from its code is prose (it becomes a summary): every rule applies.
_PROSE_FIELDS = ("docstring",)


def redact_unit(unit: dict, counts: Counter) -> dict:
    """A copy of a units.parquet row with every text field redacted and stripped of control
    characters (terminal escapes, NUL: counted as `control_characters`); only `text` is counted."""
    path, language = unit.get("path") or "text.txt", unit.get("language") or "text"
    out = dict(unit)
    if isinstance(out.get("path"), str):
        out["path"] = redact_path(out["path"], counts)
    for field in _UNIT_FIELDS:
        if isinstance(out.get(field), str):
            text, removed = strip_control(out[field])
            if field == "text" and removed:
                counts["control_characters"] += removed
            lang = "text" if field in _PROSE_FIELDS else language
            out[field] = redact(text, filename=path, language=lang, counts=counts if field == "text" else Counter())
    if out.get("heading_path") is not None:
        out["heading_path"] = [redact(h, filename=path, language=language) for h in out["heading_path"]]
    if out.get("blocks"):  # chunks are packed from the blocks: they carry the same text, redacted the same way
        out["blocks"] = [_redact_block(b, path, language) for b in out["blocks"]]
    return out


def _redact_block(block: dict, path: str, language: str) -> dict:
    """A document block redacted as it stands in its unit's text: a code block inside its fence (so
    code is read as code), everything else as document text; not counted (the unit's text was)."""
    out = dict(block)
    text, _ = strip_control(block.get("text") or "")
    if block.get("type") == "code":
        ticks = "`" * max(3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1)
        fenced = redact(f"{ticks}{block.get('lang') or ''}\n{text}\n{ticks}", filename=path, language=language)
        out["text"] = "\n".join(fenced.split("\n")[1:-1])
    else:
        out["text"] = redact(text, filename=path, language=language)
    if out.get("name"):
        out["name"] = redact(out["name"], filename=path, language=language)
    return out


def redact_record(record: dict, counts: Counter) -> dict:
    """A dataset record as it will be shown and trained on, redacted after it was generated: whatever a
    generator wrote (a model may invent or repeat a key) and whatever it quoted. Messages and document
    text are Markdown (their fenced code is code); a code record's `text` is code of its language."""
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    source = record.get("source") if isinstance(record.get("source"), dict) else {}
    path = source.get("path") if isinstance(source.get("path"), str) else "record.md"
    language = meta.get("language") if isinstance(meta.get("language"), str) else "markdown"

    def shown(text: str, lang: str = "markdown") -> str:
        text, removed = strip_control(text)
        counts["control_characters"] += removed
        return redact(text, filename=path, language=lang, counts=counts)

    out = dict(record)
    if isinstance(out.get("text"), str):
        out["text"] = shown(out["text"], language if language in _CODE_LANGS else "markdown")
    if isinstance(out.get("messages"), list):
        out["messages"] = [
            {**m, "content": shown(m["content"])} if isinstance(m, dict) and isinstance(m.get("content"), str) else m
            for m in out["messages"]
        ]
    if meta:
        out["meta"] = {
            **meta,
            **{
                k: [shown(v, "text") if isinstance(v, str) else v for v in meta[k]]
                for k in ("keywords", "heading_path")
                if isinstance(meta.get(k), list)
            },
            **{k: shown(meta[k], "text") for k in ("name",) if isinstance(meta.get(k), str)},
        }
    if source and isinstance(source.get("path"), str):
        out["source"] = {**source, "path": redact_path(source["path"])}
    return out


def redaction_sample(repos: Iterable[str | os.PathLike], n: int = 40, seed: int = 0) -> dict:
    """Every redaction in the documentation files (.md, .rst, .txt) of `repos` (each with its project's
    own domains), and a seeded sample of them with the line before and after, for a person to judge
    how many are false positives: `python -m corpus_ft.redact REPO... --sample 40`."""
    import random

    found = []
    files = 0
    for repo in repos:
        with public_domains(project_domains(repo)):
            for path in sorted(Path(repo).rglob("*")):
                if path.suffix not in (".md", ".rst", ".txt") or not path.is_file() or ".git" in path.parts:
                    continue
                files += 1
                text = path.read_text(encoding="utf-8", errors="replace")
                language = {".md": "markdown", ".rst": "rst"}.get(path.suffix, "text")
                shown = redact(text, filename=str(path), language=language)
                for i, (a, b) in enumerate(zip(text.split("\n"), shown.split("\n")), 1):
                    if a != b:
                        found += [
                            (f"{path}:{i}", kind, a.strip()[:200], b.strip()[:200]) for kind in _MARK_RE.findall(b)
                        ]
    picked = sorted(random.Random(seed).sample(range(len(found)), min(n, len(found))))
    return {"files": files, "redactions": len(found), "sample": [found[i] for i in picked]}


_MARK_RE = re.compile(r"\[REDACTED_([A-Z0-9_]+)\]")


def _main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m corpus_ft.redact", description=redaction_sample.__doc__)
    ap.add_argument("repos", nargs="+")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = redaction_sample(args.repos, args.sample, args.seed)
    print(f"{out['redactions']} redactions in {out['files']} documentation files; sample of {len(out['sample'])}:")
    for where, kind, before, after in out["sample"]:
        print(f"\n{where} [{kind}]\n  - {before}\n  + {after}")


if __name__ == "__main__":
    _main()
