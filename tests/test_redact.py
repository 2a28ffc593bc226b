"""Secrets and personal data never reach a dataset: planted in a real repo, absent from every output."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from corpus_ft.datasets import KINDS, build_dataset
from corpus_ft.redact import AWS_SECRET_EXAMPLE, TOKEN_FORMATS, redact, redact_path

AWS = "AKIAZ3MPLEQ7KEYV2X9Q"
GITHUB = "ghp_R8sT2vW4yZ6bD8fH0jL2nP4rT6vX8zB1dF3h"
SLACK = "xoxb-902311445566-7788990011223-Qw3rTy8uIoP4aSdFgHjK1zXc"
KEY_BODY = "MIIEowIBAAKCAQEAw9PlAnTeDsEcReTkEyBoDyThAtMuStNeVeRlEaK1234"
PASSWORD = "Tr0ub4dor-Horse-Staple-88"
YAML_PASSWORD = "Vault-Bypass-2026!"
STRIPE = "sk_live_51HqLyjWDarjtT1zdp7dcXbN3kF"
EMAILS = ("dana.ortiz@northwind-corp.com", "oncall+pager@northwind-corp.com")
IP = "10.44.3.17"
GOOGLE = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
OPENAI = "sk-proj-Rk3vT8yW1qZ5xN9mB2cF6hJ0lP4sD7gA1eI5oU8yT3rW6qZ9xN2m"
AZURE = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2E9PQ=="
BEARER = "4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d"
PROSE_PASSWORD = "Xy7#k2p9Qw"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"
PATH_TOKEN = "ghp_Pz9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0GfEdCb"
PLANTED = (
    AWS,
    GITHUB,
    SLACK,
    KEY_BODY,
    PASSWORD,
    YAML_PASSWORD,
    STRIPE,
    *EMAILS,
    IP,
    GOOGLE,
    OPENAI,
    AZURE,
    BEARER,
    PROSE_PASSWORD,
    AWS_SECRET,
    PATH_TOKEN,
)

REPO = {
    "docs/runbook.md": f"""# Payments runbook

## Database access

The payments database is the primary store for settled transfers. Ask {EMAILS[0]} for access
and connect to the replica at {IP} during business hours only.

```yaml
database:
  host: db.internal
  user: payments
  password: "{YAML_PASSWORD}"
```

## Deploy credentials

The deploy pipeline is the job that ships the payments service. It reads the key `{AWS}`
and posts to Slack with `{SLACK}`; the release bot uses `{GITHUB}`.

1. Export `DB_PASSWORD={PASSWORD}` in the shell.
2. Run the deploy script.
3. Page {EMAILS[1]} if the deploy fails.

-----BEGIN RSA PRIVATE KEY-----
{KEY_BODY}
Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVk
-----END RSA PRIVATE KEY-----
""",
    "deploy/settings.txt": f"""Deployment settings

DB_HOST=db.internal
DB_PASSWORD={PASSWORD}
AWS_ACCESS_KEY_ID={AWS}
NOTIFY={EMAILS[0]}
""",
    "service/client.py": f'''"""Payments client."""


def connect(host: str, password: str = "{PASSWORD}") -> "Conn":
    """Open a connection to the payments database with the service account credentials."""
    # the fallback key is for the staging account only
    key = "{AWS}"
    return Conn(host, password, key)


class Notifier:
    """Sends deploy notifications to the team channel and the on-call engineer."""

    token = "{GITHUB}"

    def send(self, text: str) -> None:
        """Post a message to the channel; failures are logged, never raised."""
        post("{SLACK}", text, cc="{EMAILS[1]}", api_key="{STRIPE}")
''',
    "service/main.go": f'''package main

// startServer binds the payments API and loads the TLS key from the embedded PEM.
func startServer(addr string) error {{
	pem := `-----BEGIN PRIVATE KEY-----
{KEY_BODY}
-----END PRIVATE KEY-----`
	return listen(addr, pem, "{IP}")
}}
''',
    ".env": f"DB_PASSWORD={PASSWORD}\nAWS_ACCESS_KEY_ID={AWS}\n",
    f"docs/runbook-{PATH_TOKEN}.md": f"""# Staging runbook

## Access

The database password is {PROSE_PASSWORD} for staging. The maps page loads with the key
{GOOGLE} and the assistant calls the model API with {OPENAI} from the batch job.

## Storage

The storage account connection string is
DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={AZURE};EndpointSuffix=core.windows.net
and the status endpoint wants `Authorization: Bearer {BEARER}` on every call.
The AWS secret key is {AWS_SECRET} for the archive bucket.
""",
}


def test_planted_secrets_never_reach_any_dataset_file(tmp_path):
    from corpus_ft.ingest import ingest_repo

    repo = tmp_path / "repo"
    for rel, text in REPO.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    run = tmp_path / "run"
    ingest_repo(repo, run, workers=1)
    totals = {}
    for kind in KINDS:
        stats = build_dataset(kind, run, generator="heuristic", formats=["alpaca", "completion", "sharegpt"])
        totals[kind] = stats["total"]
        red = stats["redactions"]
        for kind_of_secret in (
            "aws_access_key",
            "github_token",
            "slack_token",
            "private_key",
            "email",
            "ip_address",
            "secret_keyword",
        ):
            assert red.get(kind_of_secret, 0) >= 1, f"{kind}: no {kind_of_secret} redaction counted: {red}"
    assert totals["paragraphs"] > 0 and totals["code_summary"] > 0 and totals["qa"] > 0
    files = [p for p in (run / "datasets").rglob("*") if p.is_file()]
    assert any(p.suffix == ".arrow" for p in files) and any(p.name == "removed.jsonl" for p in files)
    from corpus_ft.review import write_report

    write_report(run)  # the review page quotes paths and source spans
    files += [p for p in (run / "review").rglob("*") if p.is_file()]
    files += [run / "ingest_report.json"]
    for path in files:
        data = path.read_bytes()
        for secret in PLANTED:
            assert secret.encode() not in data, f"{secret} leaked into {path.relative_to(run)}"
    paths = {
        json.loads(line)["source"]["path"]
        for line in (run / "datasets" / "paragraphs" / "train.jsonl").read_text().splitlines()
        + (run / "datasets" / "paragraphs" / "test.jsonl").read_text().splitlines()
        + (run / "datasets" / "paragraphs" / "validation.jsonl").read_text().splitlines()
    }
    assert "docs/runbook-[REDACTED_GITHUB_TOKEN].md" in paths  # the file is used, its name redacted
    assert (
        b"[REDACTED_"
        in (run / "datasets" / "paragraphs" / "train.jsonl").read_bytes()
        + (run / "datasets" / "paragraphs" / "test.jsonl").read_bytes()
        + (run / "datasets" / "paragraphs" / "validation.jsonl").read_bytes()
    )


@pytest.mark.parametrize(
    "line,kind",
    [
        (f"key id {AWS} here", "aws_access_key"),
        (f"token {GITHUB}", "github_token"),
        (f"hook {SLACK}", "slack_token"),
        (f"write to {EMAILS[0]} today", "email"),
        (f"host {IP} is the replica", "ip_address"),
        ("replica 2a02:6b8:85a3::8a2e:370:7334 in zone b", "ip_address"),  # 2001:db8::/32 is for docs
        (f'password = "{PASSWORD}"', "secret_keyword"),
        (f"DB_PASSWORD={PASSWORD}", "secret_keyword"),
        ("url postgres://svc:Sup3rS3cret@db.internal:5432/app", "basic_auth"),
        (
            "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "json_web_token",
        ),
    ],
)
def test_each_secret_type_is_redacted_and_counted(line, kind):
    counts = Counter()
    out = redact(line, filename="notes.md", language="markdown", counts=counts)
    assert counts[kind] == 1, counts
    assert f"[REDACTED_{kind.upper()}]" in out or "[REDACTED_SECRET]" in out
    assert not any(s in out for s in (AWS, GITHUB, SLACK, EMAILS[0], IP, PASSWORD, "Sup3rS3cret", "dozjgNry"))


@pytest.mark.parametrize(
    "line,language",
    [
        ("The password is rotated every 90 days by the operator.", "markdown"),
        ("self.password = password", "python"),
        ("token = get_token(client)", "python"),
        ("password: ${DB_PASSWORD}", "markdown"),
        ("Use std::vector<int> and a::b; the job runs at 12:30:45.", "cpp"),
        ("Bind to 127.0.0.1 or 0.0.0.0; release 1.2.3 ships today.", "markdown"),
        ("func handleHealth(w http.ResponseWriter, r *http.Request) error {", "go"),
    ],
)
def test_ordinary_text_is_left_alone(line, language):
    counts = Counter()
    assert redact(line, filename=f"x.{language}", language=language, counts=counts) == line
    assert not counts


@pytest.mark.parametrize(
    "line,language",
    [
        (f'password = os.environ.get("DB_PASSWORD", "{PASSWORD}")', "python"),
        (f'String t = System.getenv().getOrDefault("API_TOKEN", "{PASSWORD}");', "java"),
        (f'const pw = process.env.DB_PASSWORD || "{PASSWORD}";', "typescript"),
    ],
)
def test_credential_fallback_in_code_is_redacted(line, language):
    """A secret written as the default of an environment lookup is still a secret in the repo."""
    counts = Counter()
    out = redact(line, filename=f"x.{language}", language=language, counts=counts)
    assert PASSWORD not in out and "[REDACTED_SECRET]" in out and counts["secret_keyword"] == 1


def test_non_credential_env_default_is_kept():
    line = 'host = os.environ.get("DB_HOST", "db.internal")'
    assert redact(line, filename="x.py", language="python") == line


def test_private_key_block_is_redacted_whole_even_unterminated():
    counts = Counter()
    text = f"before\n-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\nmore"
    out = redact(text, counts=counts)
    assert out == "before\n[REDACTED_PRIVATE_KEY]\n\n" and counts["private_key"] == 1  # one line per line


@pytest.mark.parametrize(
    "name,example",
    [pytest.param(n, ex, id=n) for n, _, ex in TOKEN_FORMATS]
    + [pytest.param("aws_secret_key", AWS_SECRET_EXAMPLE, id="aws_secret_key")],
)
def test_every_provider_token_format_is_redacted(name, example):
    """One made-up example per row of the table in redact.py: the token goes, its type is counted."""
    counts = Counter()
    out = redact(f"see {example} here", filename="notes.md", language="markdown", counts=counts)
    assert counts[name] == 1, counts
    assert f"[REDACTED_{name.upper()}]" in out
    secret = example.split("AccountKey=")[-1].split("://")[-1].split()[-1].rstrip(";")
    assert secret not in out


@pytest.mark.parametrize(
    "line,secret",
    [
        (f"The database password is {PROSE_PASSWORD} for staging.", PROSE_PASSWORD),
        (f"pwd: {PROSE_PASSWORD}", PROSE_PASSWORD),
        ("token Qw8eRt5yUi2oPa9s", "Qw8eRt5yUi2oPa9s"),
        ("The API key for the staging cluster was 9f8e7d6c5b4a.", "9f8e7d6c5b4a"),
        ("Use the passphrase `c0rrect-h0rse` to unlock it.", "c0rrect-h0rse"),
        (f"The AWS secret key is {AWS_SECRET} for the archive bucket.", AWS_SECRET),
    ],
)
def test_credentials_stated_in_prose_are_redacted(line, secret):
    counts = Counter()
    out = redact(line, filename="runbook.md", language="markdown", counts=counts)
    assert secret not in out and "[REDACTED_" in out and sum(counts.values()) == 1, (out, counts)


@pytest.mark.parametrize(
    "line,language",
    [
        ('password = request.form["password"]', "python"),
        ('token = request.headers["Authorization"].split()[1]', "python"),
        ("    password = self.vault.lookup(name)", "python"),
        ('String password = req.getParameter("password");', "java"),
        ("billiard==3.6.4.0", "text"),
        ("pip install billiard==3.6.4.0 kombu>=5.2.4.1", "markdown"),
        ("Upgrade to version 10.2.0.1 before June.", "markdown"),
        ("The token expires after an hour; refresh it with the client.", "markdown"),
        ("The password field is required and must not be empty.", "markdown"),
        ("password: ${DB_PASSWORD}", "markdown"),
    ],
)
def test_redaction_never_breaks_code_or_versions(line, language):
    """Issue 12 item 6: only literal values are replaced in code; versions are not IP addresses."""
    counts = Counter()
    assert redact(line, filename=f"x.{language}", language=language, counts=counts) == line
    assert not counts


def test_string_literal_contents_are_replaced_and_the_code_still_parses():
    import ast

    code = f'password = "{PASSWORD}"\nuser = request.form["user"]\nDSN = "postgres://svc:{PASSWORD}@db/app"\n'
    out = redact(code, filename="x.py", language="python")
    ast.parse(out)
    assert PASSWORD not in out and 'request.form["user"]' in out


def test_a_secret_in_a_file_name_is_redacted():
    assert redact_path(f"docs/runbook-{PATH_TOKEN}.md") == "docs/runbook-[REDACTED_GITHUB_TOKEN].md"
    assert redact_path("docs/tokens-and-passwords.md") == "docs/tokens-and-passwords.md"


def test_the_token_hint_admits_every_format():
    """The cheap pre-scan must never hide a token: every format's example and every AWS prefix pass it."""
    from corpus_ft.redact import _TOKEN_HINT

    for name, _, example in TOKEN_FORMATS:
        assert _TOKEN_HINT.search(example), name
    for prefix in ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"):
        assert redact(f"key {prefix}Z3MPLEQ7KEYV2X9Q") == "key [REDACTED_AWS_ACCESS_KEY]", prefix
    assert redact("ACCOUNTKEY=Zm9vYmFyYmF6cXV4cXV1eGNvcmdl") == "ACCOUNTKEY=[REDACTED_AZURE_STORAGE_KEY]"


# Code blocks from public docs that the prose and assignment rules once broke (bench quality,
# "records whose code was corrupted by redaction"): HTTPX docs/advanced/authentication.md and
# Click docs/advanced.md.
@pytest.mark.parametrize(
    "section",
    [
        "Refresh the token before each request:\n\n```python\n        token = await self.async_get_token()\n```\n",
        "Normalize tokens:\n\n```python\nCONTEXT_SETTINGS = {'token_normalize_func': lambda x: x.lower()}\n```\n",
        "Tokens:\n\n```pycon\n>>> token = secret_store.token_for(user)\n>>> password = password_field.value\n```\n",
        "A reST code block, as ingest writes it:\n\n~~~~py\napi_key = settings.API_KEY or default_key\n~~~~\n",
    ],
)
def test_code_blocks_in_a_document_are_code_not_prose(section):
    """Inside a fenced block only literals go: no prose rule, no bare-value assignment rule."""
    counts = Counter()
    assert redact(section, filename="docs/x.md", language="markdown", counts=counts) == section
    assert not counts


def test_a_secret_literal_inside_a_document_code_block_is_still_redacted():
    section = (
        f"Connect with:\n\n```python\npassword = \"{PASSWORD}\"\nclient = Client(token='{BEARER}')\n"
        f"x = connect()  # the password is {PROSE_PASSWORD}\n```\n\n```bash\nexport DB_PASSWORD={YAML_PASSWORD}\n```\n"
        f"\nThe database password is {PROSE_PASSWORD} for staging.\n"
    )
    out = redact(section, filename="docs/x.md", language="markdown")
    assert not {PASSWORD, BEARER, PROSE_PASSWORD, YAML_PASSWORD} & set(out.replace("[", " ").split()) and all(
        s not in out for s in (PASSWORD, BEARER, PROSE_PASSWORD, YAML_PASSWORD)
    ), out
    assert "x = connect()  # the password is [REDACTED_SECRET]" in out
    assert 'password = "[REDACTED_SECRET]"' in out


def test_prose_rules_apply_to_docstrings_and_comments_only_in_code():
    code = (
        f'def connect():\n    """Connect. The password is {PROSE_PASSWORD} for staging."""\n'
        "    token = await fetch_token(reader)\n    # pwd: Qw8eRt5yUi2oPa9s\n    return token\n"
    )
    out = redact(code, filename="x.py", language="python")
    assert PROSE_PASSWORD not in out and "Qw8eRt5yUi2oPa9s" not in out
    assert "    token = await fetch_token(reader)\n" in out and "    return token" in out


def test_a_redacted_docstring_is_not_counted_as_corrupted_code():
    """Jinja's do_urlize docstring names an e-mail address: replacing it inside the triple-quoted
    string is right, and bench quality's counter must not report it as broken code."""
    import ast

    from corpus_ft.datasets.measure import corrupted_code

    code = (
        'def do_urlize(value):\n    """Convert URLs.\n\n    Not recognized (for example,\n'
        f'    ``mailto:{EMAILS[0]}?cc={EMAILS[1]}``).\n    """\n    return value\n'
    )
    out = redact(code, filename="filters.py", language="python")
    ast.parse(out)
    assert EMAILS[0] not in out and EMAILS[1] not in out
    record = {
        "messages": [{"role": "user", "content": "Write it"}, {"role": "assistant", "content": f"```python\n{out}```"}]
    }
    assert corrupted_code(record) == 0
    broken = {"messages": [{"role": "assistant", "content": f"```python\n{out}token = [REDACTED_SECRET] get()\n```"}]}
    assert corrupted_code(broken) == 1


# Issue 24 S4-S7: credential forms that once passed. Each value must go; the code must still parse.
@pytest.mark.parametrize(
    "text,language,secret",
    [
        pytest.param(
            "| user | password | note |\n| --- | --- | --- |\n| admin | Tbl-Pw-4471x | rotated |\n",
            "markdown",
            "Tbl-Pw-4471x",
            id="S4-markdown-table-password-column",
        ),
        pytest.param(
            "| Service | API key |\n|:--|:--|\n| billing | 9f8e7d6c5b4a3f2e |\n",
            "markdown",
            "9f8e7d6c5b4a3f2e",
            id="S4-markdown-table-api-key-column",
        ),
        pytest.param(
            "curl -H 'Authorization: Basic c3ZjOlN1cDNyUzNjcmV0LTIwMjY=' https://api.internal/v1",
            "markdown",
            "c3ZjOlN1cDNyUzNjcmV0LTIwMjY=",
            id="S5-authorization-basic",
        ),
        pytest.param(
            "```yaml\ndatabase:\n  password: |\n    Blk-Scalar-Pw-77\n  user: app\n```\n",
            "markdown",
            "Blk-Scalar-Pw-77",
            id="S6-yaml-block-scalar",
        ),
        pytest.param(
            "```yaml\ndatabase:\n  password: >-\n    Fold-Scalar-Pw-78\n```\n",
            "markdown",
            "Fold-Scalar-Pw-78",
            id="S6-yaml-folded-scalar",
        ),
        pytest.param('password = b"Bytes-Pw-8812"\n', "python", "Bytes-Pw-8812", id="S7-py-bytes"),
        pytest.param('password = f"Fstr-Pw-8813"\n', "python", "Fstr-Pw-8813", id="S7-py-fstring"),
        pytest.param("password = r'Raw-Pw-8814'\n", "python", "Raw-Pw-8814", id="S7-py-raw"),
        pytest.param(
            'def connect(host, password=b"Sig-Default-8815"):\n    return host\n',
            "python",
            "Sig-Default-8815",
            id="S7-py-signature-default",
        ),
        pytest.param(
            'PASSWORD = (\n    "NextLine-Pw-8816"\n)\n', "python", "NextLine-Pw-8816", id="S7-py-value-on-next-line"
        ),
        pytest.param('password = "Concat-Pw-" + "Tail-8817"\n', "python", "Tail-8817", id="S7-py-concatenation-plus"),
        pytest.param(
            'token = ("Implicit-Pw-"\n         "Tail-8818")\n', "python", "Tail-8818", id="S7-py-implicit-concatenation"
        ),
        pytest.param(
            'r = requests.get(url, auth=("admin", "Tuple-Pw-8819"))\n', "python", "Tuple-Pw-8819", id="S7-auth-tuple"
        ),
        pytest.param('db_pass = "DbPass-8820"\n', "python", "DbPass-8820", id="S7-db_pass"),
        pytest.param("DB_PASS=DbPass-8821\n", "text", "DbPass-8821", id="S7-DB_PASS-env"),
        pytest.param("pass: DbPass-8822\n", "text", "DbPass-8822", id="S7-pass-key"),
        pytest.param("const password = `Tmpl-Pw-8823`;\n", "javascript", "Tmpl-Pw-8823", id="S7-js-template-literal"),
        pytest.param(
            "const dsn = `postgres://app:${user}@db`;\nconst apiKey = `Tmpl-Key-8824-${env}`;\n",
            "typescript",
            "Tmpl-Key-8824",
            id="S7-ts-template-with-substitution",
        ),
        pytest.param(
            "func main() {\n\tpassword := `Go-Raw-Pw-8825`\n}\n", "go", "Go-Raw-Pw-8825", id="S7-go-raw-string"
        ),
        pytest.param('func main() {\n\tdbPass := "Go-Pw-8826"\n}\n', "go", "Go-Pw-8826", id="S7-go-dbPass"),
    ],
)
def test_credential_forms_are_redacted(text, language, secret):
    counts = Counter()
    out = redact(text, filename=f"x.{language}", language=language, counts=counts)
    assert secret not in out, out
    assert sum(counts.values()) >= 1
    if language == "python":
        import ast

        ast.parse(out)


def test_a_secret_looking_file_name_is_redacted():
    """S8: a name that states a credential outside the token formats."""
    assert "Hunter2Xy9Qz" not in redact_path("docs/password=Hunter2Xy9Qz.md")
    assert redact_path("docs/password-reset.md") == "docs/password-reset.md"
    assert redact_path("src/token_store.py") == "src/token_store.py"


@pytest.mark.parametrize(
    "line",
    [
        "x" + "Ab3_-" * 40_000,  # one 200 KB base64url line
        "@" + "a." * 100_000,
        "The password is " + "Ab3_-" * 40_000,
        # one 150 KB paragraph, as a .docx or .pdf paragraph arrives (no line-length cap there)
        "The operator rotates the token and the password for every account before the audit. " * 1_800,
    ],
    ids=["base64url", "dots-at", "prose-key-then-token", "docx-paragraph"],
)
def test_redaction_is_linear_on_one_long_line(line):
    """X2: one 200 KB base64url line once took 182 s (quadratic backtracking); now a few seconds on a
    loaded 2-core machine. The bound is generous so that load never fails it, and minutes always do."""
    import time

    start = time.perf_counter()
    redact(line, filename="blob.md", language="markdown")
    assert time.perf_counter() - start < 30.0


# Issue 26 item 5: what is NOT a secret. Each line came out with a [REDACTED_…] mark before.
@pytest.mark.parametrize(
    "line,language",
    [
        ("The `password: str` field holds the user's password.", "markdown"),
        ("def login(user: str, password: str, token: Optional[str] = None) -> bool:", "python"),
        ("Pass `credentials=sa_credentials` to the client.", "markdown"),
        ("settings = Settings(secrets_dir='/var/run')", "python"),
        ("Secrets are read from `secrets_dir=/run/secrets` at start.", "markdown"),
        ('client = Client(password="changeme")', "python"),
        ('DB_PASSWORD = "secret123"', "python"),
        ("export API_TOKEN=xxx", "markdown"),
        ("password: <your-password>", "markdown"),
        ("Write to user@example.com, ops@docs.example.org or jane@doe.invalid.", "markdown"),
        ("git clone git@github.com:pallets/flask.git", "markdown"),
        ("Bind to 192.0.2.10, 198.51.100.7, 203.0.113.9 or 2001:db8::1; loopback 127.0.0.2.", "markdown"),
        ("21225780:EverymajordevelopmentinthehistoryofAmerica", "markdown"),
    ],
)
def test_what_is_not_a_secret_is_left_alone(line, language):
    counts = Counter()
    assert redact(line, filename=f"x.{language}", language=language, counts=counts) == line
    assert not counts


def test_a_projects_own_team_contact_is_kept_and_a_persons_address_is_not(tmp_path):
    from corpus_ft.redact import project_domains, public_domains

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[project.urls]\nDocumentation = "https://x.acme-docs.org/"\n'
        'Source = "https://github.com/acme/x/"\n'
    )
    assert project_domains(tmp_path) == {"acme-docs.org"}
    text = "Report a vulnerability to security@acme-docs.org; ask jane.roe@acme-docs.org or support@other.org."
    with public_domains(project_domains(tmp_path)):
        out = redact(text)
    assert "security@acme-docs.org" in out and "jane.roe" not in out and "support@other.org" not in out
    assert "security@acme-docs.org" not in redact(text)  # without the project's metadata: redacted


@pytest.mark.parametrize(
    "line,kind,value",
    [
        ("Charge card 4111 1111 1111 1111 for the test order.", "card_number", "4111 1111 1111 1111"),
        ("Amex 3782-822463-10005 on file.", "card_number", "3782-822463-10005"),
        ("Pay to IBAN DE89 3704 0044 0532 0130 00 by Friday.", "iban", "DE89 3704 0044 0532 0130 00"),
        ("Call the on-call phone +44 20 7946 0958 after hours.", "phone_number", "+44 20 7946 0958"),
        ("Mobile: +1 (415) 555-0132", "phone_number", "(415) 555-0132"),
    ],
)
def test_personal_numbers_are_redacted(line, kind, value):
    """S10: card numbers (Luhn), IBANs (mod-97) and international phone numbers are personal data."""
    counts = Counter()
    out = redact(line, filename="notes.md", language="markdown", counts=counts)
    assert value not in out and counts[kind] == 1, (out, counts)


@pytest.mark.parametrize(
    "line",
    [
        "Order 4111 1111 1111 1112 failed the checksum.",  # not Luhn-valid
        "The build id is 1700000000000123 and the job took 12 s.",
        "Account DE00 1234 5678 9012 3456 78 is not an IBAN (bad checksum).",
        "Version +1.2.3 and the range 10 + 20 + 30 + 40 are numbers, not phones.",
    ],
)
def test_numbers_that_fail_their_check_are_kept(line):
    counts = Counter()
    assert redact(line, filename="notes.md", language="markdown", counts=counts) == line and not counts
