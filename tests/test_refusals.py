"""Every refusal names a command, flag or recipe key that exists.

The messages are read from the source (every `CorpusFtError(...)` and recipe `_error(...)` in corpus_ft/,
f-string parts standing in as `X`); each `corpus-ft ...` command in backticks must parse with the real
click CLI (its subcommands and options), each `key.sub=value` override in backticks must name a recipe
key, and each bare `--flag` must be an option of some corpus-ft command. A message once said "pass it as
--queries" to a `corpus-ft run` user, a flag `run` does not have."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from corpus_ft.cli import main
from corpus_ft.recipe import Recipe, split_overrides

ROOT = Path(__file__).resolve().parent.parent
ERROR_CALLS = {"CorpusFtError", "_error"}


def _text(node: ast.AST) -> str | None:
    """A message expression as text, with `X` for every interpolated value; None when it is not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "X") + (right or "X")
    return None


def _messages() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "corpus_ft").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ERROR_CALLS and node.args:
                text = _text(node.args[-1] if getattr(node.func, "id", None) == "_error" else node.args[0])
                if text:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


MESSAGES = _messages()


def _all_commands(group: click.Group = main, prefix: str = "corpus-ft") -> dict[str, click.Command]:
    out = {}
    for name, cmd in group.commands.items():
        out[f"{prefix} {name}"] = cmd
        if isinstance(cmd, click.Group):
            out.update(_all_commands(cmd, f"{prefix} {name}"))
    return out


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)} | {
        "--help",
        "-h",
    }


EVERY_OPTION = set().union(*(_options(c) for c in _all_commands().values()), {"--version"})


def check_command(text: str) -> None:
    """`corpus-ft sub [sub] [--opt[=v]] args`: every subcommand and option exists."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    assert words[0] == "corpus-ft", text
    cmd: click.Command = main
    rest = words[1:]
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(click.Context(cmd), rest[0])
        assert sub is not None, f"`{text}`: no command {rest[0]!r}"
        cmd, rest = sub, rest[1:]
    for word in rest:
        if word.startswith("-") and word != "-" and not word.startswith("--=") and word != "--":
            name = word.split("=", 1)[0]
            assert name in _options(cmd), f"`{text}`: `{cmd.name}` has no option {name}"


def _field(model: type[BaseModel], parts: list[str]) -> bool:
    if not parts:
        return True
    info = model.model_fields.get(parts[0])
    if info is None:
        return False
    ann = info.annotation
    candidates = [ann, *getattr(ann, "__args__", ())]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return _field(c, parts[1:])
    return len(parts) == 1 or getattr(ann, "__origin__", None) is dict or dict in candidates


def check_override(text: str) -> None:
    """`key.sub=value`: the key is a recipe setting (or a mapping entry such as train.mix.qa)."""
    for assignment in split_overrides(text):
        key = assignment.split("=", 1)[0]
        assert _field(Recipe, key.split(".")), f"`{text}`: {key} is not a recipe key"


def _spans(message: str) -> list[str]:
    return re.findall(r"`([^`]+)`", message)


@pytest.mark.parametrize("where,message", MESSAGES, ids=[w for w, _ in MESSAGES])
def test_every_suggested_command_flag_and_key_exists(where: str, message: str):
    for span in _spans(message):
        span = span.strip()
        if span.startswith("corpus-ft "):
            check_command(span)
        elif m := re.fullmatch(r'SET="([^"]+)"', span):
            check_override(m.group(1))
        elif re.fullmatch(r"[a-z_]+(\.[a-z_]+)+=\S+", span):
            check_override(span)
    check_bare_flags(message)


def check_bare_flags(message: str) -> None:
    """A `--flag` outside a command belongs to a command the message names, or (none named) to some command."""
    named = [_resolve(s.strip()) for s in _spans(message) if s.strip().startswith("corpus-ft ")]
    allowed = set().union(*(_options(c) for c in named)) if named else EVERY_OPTION
    bare = re.sub(r"`[^`]+`", "", message)
    for flag in re.findall(r"(?<![\w`/-])--[a-z][a-z-]*[a-z]", bare):
        assert flag in allowed, f"{flag} is no option of {[c.name for c in named] or 'any command'}: {message}"


def _resolve(text: str) -> click.Command:
    cmd: click.Command = main
    for word in text.split()[1:]:
        if not isinstance(cmd, click.Group) or word.startswith("-"):
            break
        cmd = cmd.get_command(click.Context(cmd), word) or cmd
    return cmd


def test_the_checks_catch_what_they_are_for():
    """The checker itself: a flag `run` lacks, an unknown command and an unknown key all fail."""
    with pytest.raises(AssertionError, match="has no option --queries"):
        check_command("corpus-ft run recipes/demo.yaml --queries q.yaml")
    with pytest.raises(AssertionError, match="no command"):
        check_command("corpus-ft tiny-modle out")
    with pytest.raises(AssertionError, match="not a recipe key"):
        check_override("evaluate.querys=q.yaml")
    check_command("corpus-ft run recipes/demo.yaml --profile cpu --repo X evaluate.queries=q.yaml")
    check_override("train.mix.qa=2 evaluate.queries=null")
    with pytest.raises(AssertionError, match="--queries is no option"):  # the old missing-queries refusal
        check_bare_flags("`corpus-ft queries draft X` writes a starter file, then pass it as --queries")
    assert len(MESSAGES) > 100  # the collector finds the refusals


def test_the_missing_queries_refusal_tells_a_run_user_an_override_that_works(tmp_path, monkeypatch):
    """The refusal as `corpus-ft run` prints it: its suggested override then gets past the check."""
    from click.testing import CliRunner

    monkeypatch.chdir(ROOT)
    other = tmp_path / "billing"
    other.mkdir()
    (other / "README.md").write_text("# billing\n\nThe billing service settles invoices every night.\n")
    args = ["run", "recipes/demo.yaml", "--repo", str(other), "--run-dir", str(tmp_path / "run"), "--stage", "ingest"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2
    overrides = [s for s in _spans(refused.stderr) if s.startswith("evaluate.queries=")]
    assert overrides and "--queries" not in re.sub(r"`[^`]+`", "", refused.stderr), refused.stderr
    queries = tmp_path / "q.yaml"
    queries.write_text("queries:\n  - query: When are invoices settled?\n    reference: every night\n")
    ok = CliRunner().invoke(main, [*args, overrides[0].replace("FILE", str(queries))])
    assert ok.exit_code == 0, ok.output
