"""BuildConfig: every knob of `corpus-ft build`, validated, with the trade-off beside it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corpus_ft.datasets.augment import AugmentConfig
from corpus_ft.datasets.qa_context import QaContextConfig
from corpus_ft.generate import GeneratorConfig
from corpus_ft.settings import DEFAULT_KINDS, KINDS, Kind  # noqa: F401 - datasets.KINDS is part of this stage's interface

# `datasets.include` names -> the unit categories (corpus_ft/ingest/policy.py) they keep
_ALIASES = {
    "test": "test",
    "changelogs": "changelog",
    "release-notes": "changelog",
    "licenses": "license",
    "licence": "license",
    "licences": "license",
    "template": "template",
    "stub": "stub",
    "type_test": "type_test",
    "benchmark": "benchmark",
    "translation": "translation",
}
INCLUDE_NAMES = {
    "tests": "test",
    "changelog": "changelog",
    "license": "license",
    "ci": "ci",
    "build": "build",
    "templates": "template",
    "generated": "generated",
    "examples": "example",
    "marketing": "marketing",
    "community": "community",
    "stubs": "stub",
    "type_tests": "type_test",
    "benchmarks": "benchmark",
    "translations": "translation",
    **_ALIASES,
}
ExportFormat = Literal["alpaca", "completion", "sharegpt"]


class BuildConfig(BaseModel):
    """How `units.parquet` becomes the four datasets (the `datasets:` block of a recipe)."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[Kind] = Field(
        list(DEFAULT_KINDS), description="which datasets `build all` and recipes build; add qa_context for retrieval"
    )
    generator: GeneratorConfig = Field(
        default_factory=GeneratorConfig,
        description="writes questions/answers and code summaries; a bare string names the type",
    )
    tokenizer: Path | None = Field(
        None, description="local model dir whose tokenizer measures chunks; none: sizes are characters"
    )
    chunk_size: int | None = Field(
        None,
        le=1_000_000,
        ge=16,
        description="per chunk; default 384 tokens with a tokenizer, 1500 characters without. Larger: fewer, longer records",
    )
    chunk_overlap: int | None = Field(
        None,
        le=1_000_000,
        ge=0,
        description="carried into the next chunk; default a tenth of chunk_size. More keeps context across cuts, adds near-duplicates",
    )
    keywords_per_record: int = Field(3, ge=1, le=10, description="YAKE keywords named in each `keywords` prompt")
    grounding_threshold: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="qa: share of answer words found in its chunk; higher removes more loosely grounded answers",
    )
    min_docstring_words: int = Field(
        2,  # "Render the view." is its author's summary; without it the offline generator writes none
        le=10_000,
        ge=1,
        description="code_summary: a docstring this long is the summary; shorter ones go to the generator",
    )
    min_chars: int = Field(
        20, le=10_000_000, ge=0, description="too_short: the response (answer, text or code) has fewer characters"
    )
    max_chars: int = Field(
        12000,
        le=100_000_000,
        ge=1,
        description="too_long: the whole record has more characters; long records cost memory in training",
    )
    min_words: int = Field(3, le=100_000, ge=0, description="min_content: fewer words than this")
    min_word_ratio: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="min_content: share of word characters among non-space ones (drops ASCII art, tables of dashes)",
    )
    near_dup_threshold: float = Field(
        0.85,
        gt=0.0,
        le=1.0,
        description="MinHash Jaccard above which a record is a near-duplicate of an earlier one; lower removes more",
    )
    minhash_perm: int = Field(64, ge=16, le=512, description="MinHash permutations; more is more exact and slower")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="file-to-split assignment and the --max-records sample")
    split_ratios: tuple[float, float, float] = Field(
        (0.8, 0.1, 0.1), description="train/validation/test share of source files (not records)"
    )
    max_records: int | None = Field(
        None, le=1_000_000_000, ge=1, description="cap per kind, a seeded sample of what passed the filters"
    )
    formats: list[ExportFormat] = Field(
        default_factory=list, description="extra <split>.<format>.jsonl exports besides the chat `messages` JSONL"
    )
    product: str | None = Field(
        None,
        description='what the docs are about, named in generated questions ("How do I deploy Flask?"); default: what '
        "ingest read from package metadata and the README's title (ingest_report.json `product`)",
    )
    system_prompt: str | None = Field(
        None, description="system message of instruction records; default says what the corpus is"
    )
    include: list[str] = Field(
        default_factory=list,
        description=(
            "categories left out by default that should become records too: tests, changelog, license, ci, "
            "templates, generated, community, stubs, type_tests, benchmarks, translations (ingest_report.json "
            "`categories` shows how much of the repository each is)"
        ),
    )
    keep_languages: list[str] = Field(
        default_factory=list,
        description=(
            "translated documentation in these languages (ISO 639-1 codes, e.g. [de, ja]) becomes records too; "
            "by default only the corpus's own language (the one most of its docs are written in) is used"
        ),
    )
    min_prose_words: int = Field(
        8,
        ge=0,
        description=(
            "a chunk with fewer words of prose (outside headings and code) is merged into its neighbour in the "
            "same section, or dropped; 0 keeps every chunk"
        ),
    )
    augment: AugmentConfig | None = Field(
        None,
        description=(
            "extra train records made from train records (template rewrites, sentence windows, model paraphrases); "
            "absent: none. docs/datasets.md 'Augmentation' has the trade-offs"
        ),
    )
    qa_context: QaContextConfig = Field(
        default_factory=QaContextConfig,
        description="the qa_context kind: passages per question (k), the oracle's share, what is indexed, the template",
    )

    @field_validator("generator", mode="before")
    @classmethod
    def _generator_by_name(cls, v):
        return {"type": v} if isinstance(v, str) else v

    @field_validator("keep_languages")
    @classmethod
    def _language_codes(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            code = str(code).strip().lower()
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter ISO 639-1 language code (e.g. de, ja, zh)")
            out.append(code)
        return sorted(set(out))

    @field_validator("kinds", "formats", "include", "keep_languages", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("include")
    @classmethod
    def _known_categories(cls, v: list[str]) -> list[str]:
        out = []
        for name in v:
            category = INCLUDE_NAMES.get(str(name).strip().lower())
            if category is None:
                raise ValueError(
                    f"unknown category {name!r}; choose from {', '.join(sorted(set(INCLUDE_NAMES) - set(_ALIASES)))}"
                )
            out.append(category)
        return sorted(set(out))

    @model_validator(mode="after")
    def _check(self) -> BuildConfig:
        if abs(sum(self.split_ratios) - 1.0) > 1e-6 or min(self.split_ratios) < 0:
            raise ValueError(f"split_ratios must be three non-negative shares summing to 1, got {self.split_ratios}")
        if self.chunk_size and self.chunk_overlap is not None and self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        if self.augment and self.augment.paraphrase and self.generator.type == "heuristic":
            raise ValueError(
                "augment.paraphrase needs a model generator (generator: hf or openai) to write the "
                "paraphrases; the heuristic generator has none - set augment.paraphrase: 0 and use "
                "augment.offline, or configure a model generator"
            )
        return self

    def resolved_chunking(self) -> tuple[int, int]:
        """(size, overlap) in tokens with a tokenizer, characters without."""
        size = self.chunk_size or (384 if self.tokenizer else 1500)
        overlap = self.chunk_overlap if self.chunk_overlap is not None else size // 10
        return size, min(overlap, size - 1)
