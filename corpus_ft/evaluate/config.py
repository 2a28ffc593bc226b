"""EvalConfig: what `corpus-ft evaluate` compares, how it decodes and what it writes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from corpus_ft.retrieve import RetrievalConfig
from corpus_ft.settings import DEFAULT_KINDS


class EvalConfig(BaseModel):
    """Base vs fine-tuned on domain queries and the held-out test split; one recipe section."""

    model_config = ConfigDict(extra="forbid")

    # what is compared
    adapter: Path | None = Field(
        None,
        description="the tuned model: a PEFT adapter dir, or a full fine-tune's model dir (config.json, no adapter_config.json); default RUN_DIR/model/adapter, else RUN_DIR/model/full",
    )
    base: str | None = Field(
        None,
        description="base model dir or hub id (default: adapter_config.json's base_model_name_or_path; for a full model, the `model` of train_config.json beside it)",
    )
    queries: Path | None = Field(
        None, description="YAML or JSONL file of domain queries: query, reference, keywords, tags, source"
    )
    test_sample: int = Field(
        20, le=100_000, ge=0, description="held-out test records per dataset kind; 0 evaluates only --queries"
    )
    kinds: list[str] = Field(list(DEFAULT_KINDS), description="dataset kinds whose test split is sampled")
    system_prompt: str | None = Field(
        None, description="system message put before each custom query (use the one your datasets use)"
    )
    probes: Path | None = Field(
        None,
        description="general-text probe file (.txt paragraphs or .jsonl with `text`) for the forgetting check; default ships with corpus-ft",
    )

    # decoding: identical for base and tuned, recorded in summary.json
    max_new_tokens: int = Field(
        128, le=32_768, ge=1, description="per answer; higher shows more of each answer and costs time"
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 is greedy (deterministic); >0 samples with `seed`")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling when temperature > 0")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="test-split sample, sampling and judge order")
    batch_size: int = Field(
        8, le=4096, ge=1, description="prompts per generate()/forward call; higher is faster and uses more memory"
    )
    max_length: int = Field(
        1024, le=1_048_576, ge=16, description="tokens of prompt + reference scored for perplexity; longer is truncated"
    )
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:1 …")

    # checks
    forgetting_tolerance: float = Field(
        0.10,
        le=100.0,
        ge=0.0,
        description="flag forgetting when tuned probe perplexity exceeds base by more than this fraction",
    )

    # optional LLM-as-judge through an OpenAI-compatible endpoint
    judge_url: str | None = Field(
        None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1; unset skips judging"
    )
    judge_model: str | None = Field(None, description="model name the judge endpoint serves")
    judge_rubric: Path | None = Field(None, description="rubric prompt file (default ships with corpus-ft)")
    judge_api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="environment variable holding the judge's API key (may be unset for local servers)",
    )
    judge_max_tokens: int = Field(400, le=32_768, ge=16, description="judge response length")

    # retrieval: base + retrieval and tuned + retrieval beside base and tuned (corpus_ft/retrieve.py)
    retrieval: RetrievalConfig | None = Field(
        None,
        description="BM25 over the run's train split put before each question; set (e.g. {k: 3}) to score four systems",
    )

    # human ratings folded back into the report (reuses results.jsonl, loads no model)
    ratings: Path | None = Field(None, description="a filled-in ratings.csv to fold into the report")
