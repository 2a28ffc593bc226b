"""Generators write the generated half of a record: questions and answers for a document
chunk, a summary for a code unit. One interface, chosen per recipe:

- `heuristic`: offline, deterministic, no model (headings, definitions, procedure steps;
  signatures, names and comments). Good enough to demo and test the pipeline.
- `hf`: a local transformers model, batched, on GPU when present.
- `openai`: any OpenAI-compatible endpoint (vLLM, Ollama, TGI, llama.cpp, OpenAI) with
  concurrency, retries with backoff, timeouts and a persistent response cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, TypedDict

from pydantic import BaseModel, ConfigDict, Field


class QAPair(TypedDict):
    question: str
    answer: str


class Chunk(TypedDict, total=False):
    """A paragraph chunk of a document section (what `qa` and `keywords` are grounded in)."""

    id: str
    text: str
    heading_path: list[str]
    path: str
    repo: str  # the repository's name (units.parquet `repo`)
    language: str
    start_line: int
    end_line: int
    unit_id: str
    blocks: list[dict]  # the unit's blocks it holds (ingest's types and spans), in order
    product: str  # what the docs are about (the package name), for questions that name it
    continued: bool  # not the section's first chunk
    question: str  # a question the source asks as written (a FAQ page's title), answered by the chunk


class GeneratorConfig(BaseModel):
    """Which generator writes questions/answers and code summaries, and how it is called."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["heuristic", "hf", "openai"] = Field(
        "heuristic",
        description="heuristic: offline, no model; hf: local transformers model; openai: any OpenAI-compatible endpoint",
    )
    model: str | None = Field(
        None, description="hf: local directory or hub id; openai: the model name the endpoint serves"
    )
    base_url: str | None = Field(None, description="openai: endpoint base URL, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="openai: environment variable that holds the API key (may be unset for local servers)",
    )
    questions_per_chunk: int = Field(
        2, ge=1, le=20, description="more gives more records per chunk and more near-duplicates"
    )
    max_new_tokens: int = Field(256, le=32_768, ge=1, description="per generated answer or summary")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 is deterministic and cache-friendly")
    batch_size: int = Field(
        8, le=4096, ge=1, description="hf: prompts per generate() call; higher is faster and uses more memory"
    )
    concurrency: int = Field(8, le=1024, ge=1, description="openai: requests in flight")
    timeout_s: float = Field(60.0, le=86_400, gt=0, description="openai: per request")
    max_retries: int = Field(
        5, le=100, ge=0, description="openai: retries with exponential backoff on 429/5xx/timeouts"
    )
    prompts: dict[str, Path] = Field(
        default_factory=dict, description="kind -> prompt template file overriding the built-in one"
    )
    cache: bool = Field(True, description="openai/hf: reuse responses cached under RUN_DIR/cache/generate/")
    grounding_check: bool = Field(
        True,
        description="hf/openai: ask the model whether the chunk supports each answer and drop unsupported pairs; one more request per pair",
    )


class Generator(Protocol):
    name: str
    version: str

    def questions(self, chunks: Sequence[Chunk]) -> list[list[QAPair]]:
        """For each chunk, question-answer pairs whose answers the chunk supports."""
        ...

    def summaries(self, units: Sequence[dict]) -> list[str | None]:
        """For each code unit (a units.parquet row), a one-paragraph summary, or None."""
        ...


def get_generator(cfg: GeneratorConfig, cache_dir: Path | None = None) -> Generator:
    """The generator a recipe names; heavy modules load only when that generator is used."""
    if cfg.type == "heuristic":
        from corpus_ft.generate.heuristic import HeuristicGenerator

        return HeuristicGenerator(cfg)
    if cfg.type == "hf":
        from corpus_ft.generate.hf import HFGenerator

        return HFGenerator(cfg, cache_dir=cache_dir)
    from corpus_ft.generate.openai import OpenAIGenerator

    return OpenAIGenerator(cfg, cache_dir=cache_dir)
