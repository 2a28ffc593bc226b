"""Secrets and personal data never reach a dataset: planted in a real repo, absent from every output."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus_ft.datasets import KINDS, build_dataset
from corpus_ft.redact import redact

AWS = "AKIAZ3MPLEQ7KEYV2X9Q"
GITHUB = "ghp_R8sT2vW4yZ6bD8fH0jL2nP4rT6vX8zB1dF3h"
SLACK = "xoxb-902311445566-7788990011223-Qw3rTy8uIoP4aSdFgHjK1zXc"
KEY_BODY = "MIIEowIBAAKCAQEAw9PlAnTeDsEcReTkEyBoDyThAtMuStNeVeRlEaK1234"
PASSWORD = "Tr0ub4dor-Horse-Staple-88"
YAML_PASSWORD = "Vault-Bypass-2026!"
STRIPE = "sk_live_51HqLyjWDarjtT1zdp7dcXbN3kF"
EMAILS = ("dana.ortiz@northwind-corp.com", "oncall+pager@northwind-corp.com")
IP = "10.44.3.17"
PLANTED = (AWS, GITHUB, SLACK, KEY_BODY, PASSWORD, YAML_PASSWORD, STRIPE, *EMAILS, IP)

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
        for kind_of_secret in ("aws_access_key", "github_token", "slack_token", "private_key", "email",
                               "ip_address", "secret_keyword"):
            assert red.get(kind_of_secret, 0) >= 1, f"{kind}: no {kind_of_secret} redaction counted: {red}"
    assert totals["paragraphs"] > 0 and totals["code_summary"] > 0 and totals["qa"] > 0
    files = [p for p in (run / "datasets").rglob("*") if p.is_file()]
    assert any(p.suffix == ".arrow" for p in files) and any(p.name == "removed.jsonl" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in PLANTED:
            assert secret.encode() not in data, f"{secret} leaked into {path.relative_to(run)}"
    assert b"[REDACTED_" in (run / "datasets" / "paragraphs" / "train.jsonl").read_bytes() + \
        (run / "datasets" / "paragraphs" / "test.jsonl").read_bytes() + \
        (run / "datasets" / "paragraphs" / "validation.jsonl").read_bytes()


@pytest.mark.parametrize("line,kind", [
    (f"key id {AWS} here", "aws_access_key"),
    (f"token {GITHUB}", "github_token"),
    (f"hook {SLACK}", "slack_token"),
    (f"write to {EMAILS[0]} today", "email"),
    (f"host {IP} is the replica", "ip_address"),
    ("replica 2001:db8:85a3::8a2e:370:7334 in zone b", "ip_address"),
    (f'password = "{PASSWORD}"', "secret_keyword"),
    (f"DB_PASSWORD={PASSWORD}", "secret_keyword"),
    ("url postgres://svc:Sup3rS3cret@db.internal:5432/app", "basic_auth"),
    ("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "json_web_token"),
])
def test_each_secret_type_is_redacted_and_counted(line, kind):
    counts = Counter()
    out = redact(line, filename="notes.md", language="markdown", counts=counts)
    assert counts[kind] == 1, counts
    assert f"[REDACTED_{kind.upper()}]" in out or "[REDACTED_SECRET]" in out
    assert not any(s in out for s in (AWS, GITHUB, SLACK, EMAILS[0], IP, PASSWORD, "Sup3rS3cret", "dozjgNry"))


@pytest.mark.parametrize("line,language", [
    ("The password is rotated every 90 days by the operator.", "markdown"),
    ("self.password = password", "python"),
    ("token = get_token(client)", "python"),
    ("password: ${DB_PASSWORD}", "markdown"),
    ("Use std::vector<int> and a::b; the job runs at 12:30:45.", "cpp"),
    ("Bind to 127.0.0.1 or 0.0.0.0; release 1.2.3 ships today.", "markdown"),
    ("func handleHealth(w http.ResponseWriter, r *http.Request) error {", "go"),
])
def test_ordinary_text_is_left_alone(line, language):
    counts = Counter()
    assert redact(line, filename=f"x.{language}", language=language, counts=counts) == line
    assert not counts


@pytest.mark.parametrize("line,language", [
    (f'password = os.environ.get("DB_PASSWORD", "{PASSWORD}")', "python"),
    (f'String t = System.getenv().getOrDefault("API_TOKEN", "{PASSWORD}");', "java"),
    (f'const pw = process.env.DB_PASSWORD || "{PASSWORD}";', "typescript"),
])
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
    assert out == "before\n[REDACTED_PRIVATE_KEY]" and counts["private_key"] == 1
