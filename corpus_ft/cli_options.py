"""Click options derived from pydantic config models: the model is the one definition of every setting.

    @model_options(TrainConfig, aliases={"learning_rate": ("--lr",)})
    def train_cmd(**options): config = from_options(TrainConfig, options)

Each field becomes `--field-name`; its help is the field's description and `[default: …]` its
default, the option's own default is None (so only what the user typed overrides a recipe), and
the value is checked by the model, whose errors come out as one line (settings.config_error).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import click
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from corpus_ft.settings import config_error
from corpus_ft.util import CorpusFtError

__all__ = ["default_text", "from_options", "model_options", "option_fields"]


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a union (Optional included), else the annotation itself."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _literals(members: list[Any]) -> list[str]:
    return [str(v) for m in members if get_origin(m) is Literal for v in get_args(m)]


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _parse_mapping(name: str) -> Callable[[str], dict[str, float]]:
    def parse(text: str) -> dict[str, float]:
        try:
            return {k.strip(): float(w) for k, w in (p.split("=") for p in text.split(",") if p.strip())}
        except ValueError:
            raise CorpusFtError(f"--{name} expects key=number pairs like 'qa=1,paragraphs=0.5', got {text!r}") from None

    return parse


def _click_type(annotation: Any, name: str) -> tuple[Any, Callable[[Any], Any] | None, bool, bool]:
    """(click type, converter of what click parsed, is a --x/--no-x flag, may repeat) for one field's annotation."""
    members = _members(annotation)
    literals = _literals(members)
    rest = [m for m in members if get_origin(m) is not Literal]
    if literals and rest == [bool]:  # e.g. Literal["auto"] | bool: auto, on, off (pydantic reads on/off)
        return click.Choice([*literals, "on", "off"]), None, False, False
    if literals and not rest:
        return click.Choice(literals), None, False, False
    if rest == [bool]:
        return None, None, True, False
    kinds = [get_origin(m) or m for m in rest]
    if list in kinds or tuple in kinds:  # comma-separated, and/or the option repeated
        keep = literals[0] if literals else None  # Literal["all-linear"] | list[str]

        def join(values: tuple[str, ...]) -> Any:
            items = [item for v in values for item in _split_list(v)]
            return None if not items else keep if items == [keep] else items

        return str, join, False, True
    if dict in kinds:
        return str, _parse_mapping(name.replace("_", "-")), False, False
    if Path in kinds:
        return click.Path(path_type=Path), None, False, False
    if kinds and all(k in (int, float, str) for k in kinds):
        return {int: int, float: float}.get(kinds[0], str) if len(set(kinds)) == 1 else str, None, False, False
    raise TypeError(f"no command-line form for field {name!r} ({annotation}); exclude it or add one")


def default_text(field) -> str:
    """The field's default as the help shows it (`[default: 4]`), or '' when it has none."""
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    if isinstance(value, bool):
        value = str(value).lower()
    return f" [default: {value}]"


def option_fields(model: type[BaseModel], only: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """The fields of `model` that become options: `only` (in that order) or every field, minus `exclude`."""
    names = list(only) if only is not None else list(model.model_fields)
    return [n for n in names if n not in set(exclude)]


def model_options(
    model: type[BaseModel],
    *,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> Callable:
    """A decorator adding one click option per field of `model` (help and default from the field)."""
    aliases = aliases or {}

    def decorate(f: Callable) -> Callable:
        for name in reversed(option_fields(model, only, exclude)):
            field = model.model_fields[name]
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                continue  # a nested section: its command sets it through its own options
            ctype, convert, flag, many = _click_type(field.annotation, name)
            flag_name = "--" + name.replace("_", "-")
            decls = (
                [*aliases.get(name, ()), flag_name]
                if not flag
                else [f"{a}/--no-{a.removeprefix('--')}" for a in (*aliases.get(name, ()), flag_name)][:1]
            )
            help_text = (field.description or "").rstrip(".") + "." + default_text(field)
            callback = (lambda c, p, v, convert=convert: None if v is None else convert(v)) if convert else None
            kwargs = {"default": None, "help": help_text, "callback": callback, "multiple": many}
            if flag:
                f = click.option(*decls, name, **kwargs)(f)
            else:
                f = click.option(*decls, name, type=ctype, **kwargs)(f)
        return f

    return decorate


def from_options(
    model: type[BaseModel], options: dict, base: dict | None = None, *, where: str = "command line", prefix: tuple = ()
) -> BaseModel:
    """`model` from `base` (a recipe section, a file) overridden by the options the user typed; one-line errors."""
    given = {k: v for k, v in options.items() if v is not None and k in model.model_fields}
    try:
        return model.model_validate({**(base or {}), **given})
    except ValidationError as e:
        raise config_error(e, model, where, prefix=prefix) from None
