"""Names every stage shares (dataset kinds, pipeline stages, methods, optimizers), defined once, and the
one formatter that turns a pydantic ValidationError into `file:line: key: problem; fix`.

Bottom layer: imports nothing from a stage, so every stage's config can use it.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ValidationError

from corpus_ft.util import CorpusFtError

# qa_context (the qa pairs with retrieved passages, corpus_ft/datasets/qa_context.py) is built from
# the other kinds, so it comes last and only when a recipe lists it.
Kind = Literal["paragraphs", "qa", "keywords", "code_summary", "qa_context"]
KINDS: tuple[str, ...] = get_args(Kind)
DEFAULT_KINDS: tuple[str, ...] = ("paragraphs", "qa", "keywords", "code_summary")
Stage = Literal["ingest", "datasets", "review", "estimate", "train", "evaluate"]
STAGES: tuple[str, ...] = get_args(Stage)
Method = Literal["qlora", "lora", "full", "prefix", "ia3", "prompt"]
METHODS: tuple[str, ...] = get_args(Method)
ADAPTER_METHODS = ("qlora", "lora")  # LoRA-family: lora_r, lora_alpha, target_modules, use_dora apply
PROMPT_METHODS = ("prefix", "prompt")  # virtual tokens: cannot merge into the weights
# The peak learning rate each method trains at when none is set. LoRA's is the QLoRA paper's; a full
# fine-tune moves every weight, so it steps 20x smaller (against forgetting); IA3, prefix and prompt
# tuning train a few thousand numbers each and need much larger steps (PEFT's examples, and
# `corpus-ft bench modes --methods ... --lr ...` on SmolLM2: README "Benchmarks").
METHOD_LEARNING_RATES: dict[str, float] = {
    "qlora": 2e-4,
    "lora": 2e-4,
    "full": 1e-5,
    "ia3": 3e-3,
    "prefix": 1e-2,
    "prompt": 3e-2,
}
Optimizer = Literal["adamw_torch", "adamw_8bit", "paged_adamw_8bit", "paged_adamw_32bit"]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
Attention = Literal["sdpa", "flash_attention_2", "eager"]
ATTENTIONS: tuple[str, ...] = get_args(Attention)
Sharding = Literal["none", "ddp", "fsdp"]
SHARDINGS: tuple[str, ...] = get_args(Sharding)

__all__ = [
    "ADAPTER_METHODS",
    "ATTENTIONS",
    "PROMPT_METHODS",
    "KINDS",
    "METHOD_LEARNING_RATES",
    "METHODS",
    "OPTIMIZERS",
    "SHARDINGS",
    "STAGES",
    "config_error",
    "describe_error",
    "line_of",
    "set_dotted",
]


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node along `loc` (pydantic's error location)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the key at `loc` (for 'did you mean' suggestions)."""
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return None
        model = field.annotation
    return model


def describe_error(err: dict, model: type[BaseModel], prefix: tuple = ()) -> tuple[tuple, str]:
    """One pydantic error as (location in `model`, `key: problem; fix` a person can act on)."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    key = ".".join(str(p) for p in (*prefix, *loc)) or "(top level)"
    if err["type"] == "extra_forbidden":
        owner = _model_at(model, loc)
        known = sorted(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        return loc, f"{key}: unknown key; {hint}known keys here: {', '.join(known)}"
    if err["type"] == "missing":
        return loc, f"{key}: required, but missing; add it"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if isinstance(got, dict):  # a whole section failed a cross-field check: the message says which
        return loc, f"{key}: {msg}"
    got_text = f'"{got}"' if isinstance(got, str) else repr(got)
    return loc, f"{key}: {msg}, got {got_text}"


def config_error(
    e: ValidationError, model: type[BaseModel], where: str, *, root: yaml.Node | None = None, prefix: tuple = ()
) -> CorpusFtError:
    """The first problem of `e` as one line, `where[:line]: key: problem; fix`, plus how many more there are."""
    errors = e.errors()
    loc, message = describe_error(errors[0], model, prefix)
    line = line_of(root, (*prefix, *loc)) if root is not None else None
    more = len(errors) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return CorpusFtError(f"{where}:{line}: {message}{tail}" if line else f"{where}: {message}{tail}")


def set_dotted(data: dict, assignment: str) -> dict:
    """Apply `key.sub=value` to a parsed recipe; the value is read as YAML (`8`, `true`, `[qa, paragraphs]`)."""
    key, sep, raw = assignment.partition("=")
    parts = [p.strip() for p in key.split(".")]
    if not sep or not all(parts):
        raise CorpusFtError(f"override {assignment!r}: expected key.sub=value, e.g. train.lora_r=8")
    try:
        value: Any = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node[part] = node.get(part) if node.get(part) is not None else {}
        if not isinstance(child, dict):
            raise CorpusFtError(f"override {assignment!r}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value
    return data
