"""Redaction precision: ordinary text that looks like an address or a credential stays as written."""

from collections import Counter

import pytest

from corpus_ft.redact import redact, redact_record


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # a relative file path after a credential word names a file, not a secret
        ("Explain what `Token.reset` (java method in `src/main/java/acme/parser/Token.java`) does.", "markdown"),
        # a subnet mask, a product token's version, a private range written as a CIDR
        ("If mask is 24 the function returns 255.255.255.0.", "markdown"),
        ('UA = "Mozilla/5.0 AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36";', "java"),
        ("Allow 10.0.0.0/8 and 172.16.0.0/12 through the firewall.", "markdown"),
        # placeholder mailboxes and domains
        ('```go\nvar users = gin.H{"email": "foo@bar.com"}\n```', "markdown"),
        ("or `http://localhost@other.com` would match too.", "markdown"),
        # a code name and its description in a definition list
        ("`pass_script_info`: API reference generated from its docstrings.", "markdown"),
    ],
)
def test_ordinary_text_is_kept(text: str, language: str) -> None:
    counts = Counter()
    assert redact(text, filename="docs/guide.md", language=language, counts=counts) == text
    assert not counts


@pytest.mark.parametrize(
    ("text", "language", "gone"),
    [
        ("connect to the replica at 10.44.3.17 in business hours", "markdown", "10.44.3.17"),
        ("10.44.3.17 Replica in zone b", "markdown", "10.44.3.17"),
        ("10.44.3.17 is the Replica", "markdown", "10.44.3.17"),
        ('\treturn listen(addr, "10.44.3.17")', "go", "10.44.3.17"),
        # a private host in a page's code block may be a real internal machine (a runbook's ssh line)
        ("Log in:\n\n```bash\nssh ops@10.44.3.17\n```\n", "markdown", "10.44.3.17"),
        ("The AWS secret key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE for the bucket.", "text", "K7MDENG"),
        ("the token is src/Xy7k2p9QwZZ12 for staging", "text", "Xy7k2p9QwZZ12"),
        ("`DB_PASSWORD`: Hunter2xyz is the one for staging", "markdown", "Hunter2xyz"),
        ("`DB_PASSWORD`: Sunshinexyz", "markdown", "Sunshinexyz"),
        ("Ask lena@northwind-corp.com or foo.smith@bar-corp.com", "markdown", "@northwind-corp.com"),
    ],
)
def test_real_values_still_go(text: str, language: str, gone: str) -> None:
    assert gone not in redact(text, filename="docs/runbook.md", language=language)


def test_a_private_host_goes_from_code_records_and_pages_alike() -> None:
    fenced = '```go\nreturn listen(addr, "10.44.3.17")\n```'
    code = {"messages": [{"role": "user", "content": fenced}], "meta": {"language": "go"}, "source": {"path": "a.go"}}
    page = {**code, "meta": {"language": "markdown"}, "source": {"path": "docs/a.md"}}
    assert "10.44.3.17" not in redact_record(code, Counter())["messages"][0]["content"]
    assert "10.44.3.17" not in redact_record(page, Counter())["messages"][0]["content"]


def test_a_build_coordinate_whose_group_holds_a_credential_word_is_not_a_credential():
    from corpus_ft.redact import redact

    assert redact("add `io.acmewebtoken:acme-gson` as a runtime dependency") == (
        "add `io.acmewebtoken:acme-gson` as a runtime dependency"
    )
    assert redact("implementation 'com.acmesecrets:acme-core:{project-version}'").endswith(
        "acme-core:{project-version}'"
    )
    # a credential word at a name boundary, a space after the colon, or a value that is no artifact id: redacted
    for line in ("db.password:hunter2x", "spring.client.secret: xyz123abc", "app.authtoken:Xy7k2p9QwZZ12aBcDeFg"):
        assert "[REDACTED_SECRET]" in redact(line), line
