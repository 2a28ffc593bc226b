"""`TrainConfig`: every knob of `corpus-ft train`, with the trade-off beside it.

The one definition of every training setting: `corpus-ft train` and `corpus-ft estimate` derive
their options from these fields (corpus_ft/cli_options.py), and the estimator (`estimate.plan`)
takes this model, so an estimate and a training run with the same settings agree by construction.
It sits below both the estimator and the trainer (docs/architecture.md); the train stage's public
face for it is `corpus_ft.train.config`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corpus_ft.gpus import parse_gpu
from corpus_ft.settings import (
    ADAPTER_METHODS,
    KINDS,
    METHOD_LEARNING_RATES,
    PROMPT_METHODS,
    Attention,
    Method,
    Optimizer,
    Sharding,
)
from corpus_ft.util import CorpusFtError

MAX_MIX_WEIGHT = 100  # train.mix: a kind's records repeated more often per epoch is a typo, and 1e9 fills memory


class TrainConfig(BaseModel):
    """How to fine-tune: model and method, LoRA shape, batch and schedule, speed switches, scale."""

    model_config = ConfigDict(extra="forbid")

    # --- model and method ---
    model: str = Field(
        "smollm2-135m-instruct",
        description=(
            "Base model: 'smollm2-135m-instruct' (the embedded default, fetched once by `corpus-ft model get`), "
            "a local directory with config.json, a hub id (needs the hub cache, offline), or 'tiny' for the "
            "random-init test Llama (built into RUN_DIR/tiny-model; NOT a useful model, tests only)."
        ),
    )
    method: Method = Field(
        "qlora",
        description=(
            "qlora: 4-bit NF4 base + LoRA, least memory; lora: bf16 base + LoRA, ~2-3x the base's memory, "
            "a little faster; full: every weight trained, ~16 bytes/parameter, best fit to the data; "
            "ia3: learned scales on keys, values and the MLP (~0.01% of the weights), merges like LoRA, learns less; "
            "prefix: trained key/value vectors in front of every layer's attention (num_virtual_tokens), no merge; "
            "prompt: trained input embeddings in front of the prompt, fewest parameters, weakest, no merge."
        ),
    )
    lora_r: int = Field(
        16, le=4096, ge=1, description="LoRA rank: higher fits more of the data and costs memory and time."
    )
    lora_alpha: int = Field(
        32, le=65_536, ge=1, description="LoRA scale (alpha/r multiplies the update); 2*r is the usual choice."
    )
    lora_dropout: float = Field(
        0.05, ge=0.0, lt=1.0, description="Dropout on the LoRA input: regularises small datasets."
    )
    target_modules: Literal["all-linear"] | list[str] = Field(
        "all-linear",
        description=(
            "Layers that get adapters: 'all-linear' (attention + MLP, QLoRA paper) or names like ['q_proj', 'v_proj'] "
            "(fewer adapters: less memory, usually worse)."
        ),
    )
    use_dora: bool = Field(
        False, description="DoRA (weight-decomposed LoRA): a little better at low rank, ~20-30% slower."
    )
    num_virtual_tokens: int = Field(
        20,
        ge=1,
        le=4096,
        description=(
            "prefix/prompt: virtual tokens in front of every sequence. More fit more of the data; each one costs "
            "context length and, for prefix, a key and a value per layer."
        ),
    )
    prefix_projection: bool = Field(
        False,
        description=(
            "prefix: train the prefix through a 2-layer MLP (the prefix-tuning paper's reparametrisation): "
            "steadier training, many more trainable parameters during training."
        ),
    )
    prefix_hidden_size: int = Field(
        512, ge=1, le=65_536, description="prefix with prefix_projection: the MLP's hidden width."
    )
    prefix_init: Literal["zero", "random"] = Field(
        "zero",
        description=(
            "prefix: start the trained keys and values at zero (training starts from the base model's behaviour) "
            "or at random (PEFT's default: random vectors in every layer's attention, a much worse start)."
        ),
    )
    prompt_init_text: str | None = Field(
        None,
        description=(
            "prompt: start the virtual tokens from this text's embeddings (e.g. 'Answer questions about the "
            "Ledgerline service:') instead of the embeddings of randomly sampled vocabulary tokens."
        ),
    )
    ia3_target_modules: list[str] = Field(
        ["k_proj", "v_proj", "down_proj"],
        description=(
            "ia3: layers whose outputs (inputs, for feed-forward ones) get a learned scale; the IA3 paper's choice is "
            "keys, values and the MLP's down projection. More layers: more parameters, a little more memory."
        ),
    )
    ia3_feedforward_modules: list[str] = Field(
        ["down_proj"],
        description=("ia3: which of ia3_target_modules are feed-forward (scaled on their input, not their output)."),
    )
    assistant_only_loss: bool = Field(
        True,
        description=(
            "Loss on assistant tokens only for chat records (paragraphs always train on every token); "
            "False also trains the model to write the questions."
        ),
    )

    # --- data ---
    mix: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Dataset kind -> weight, e.g. {paragraphs: 1.0, qa: 2.0}. Weight 2 repeats each record twice per epoch, "
            "0.5 samples half of them (seeded), 0 leaves the kind out. Empty: every built kind, weight 1."
        ),
    )
    seq_len: int = Field(
        2048,
        le=1_048_576,
        ge=16,
        description=("Tokens per packed sequence (max length): longer holds longer records, memory grows with it."),
    )
    packing: bool = Field(
        True,
        description=(
            "Pack records into seq_len rows (best-fit, padding-free, no attention across records): "
            "2-5x fewer wasted tokens than padding."
        ),
    )

    # --- batch and schedule ---
    micro_batch: int = Field(
        4, le=65_536, ge=1, description="Sequences per forward pass per GPU: higher is faster and uses more memory."
    )
    grad_accum: int = Field(
        4,
        le=65_536,
        ge=1,
        description="Micro-batches per optimizer step: raises the effective batch at no memory cost.",
    )
    learning_rate: float | None = Field(
        None,
        le=1.0,
        gt=0,
        description=(
            "Peak learning rate. Unset: the method's own (lora/qlora 2e-4, full 1e-5, ia3 3e-3, prefix 1e-2, "
            "prompt 3e-2); a full fine-tune above ~1e-4 risks forgetting what the base knew."
        ),
    )
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="Decay after warm-up.")
    warmup_ratio: float = Field(
        0.03, ge=0.0, lt=1.0, description="Fraction of the steps spent warming the learning rate up."
    )
    epochs: float = Field(
        1.0, le=10_000, gt=0, description="Passes over the (mixed) training data; ignored when max_steps > 0."
    )
    max_steps: int = Field(
        -1, ge=-1, le=1_000_000_000, description="Stop after this many optimizer steps (-1: run `epochs`)."
    )
    max_steps_cap: int = Field(
        -1,
        ge=-1,
        le=1_000_000_000,
        description=(
            "Stop after this many optimizer steps if `epochs` would take more; never extends a short run "
            "(-1: no cap; ignored when max_steps > 0)."
        ),
    )
    weight_decay: float = Field(0.0, le=10.0, ge=0.0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, le=1e6, gt=0, description="Gradient clipping norm.")
    optimizer: Optimizer = Field(
        "adamw_torch",
        description=(
            "adamw_torch: plain AdamW (adapter states are small with LoRA); *_8bit: bitsandbytes, ~4x less optimizer "
            "memory (matters for full); paged_*: survive memory spikes by paging to CPU (GPU only)."
        ),
    )

    # --- evaluation, checkpoints, logging ---
    eval_steps: int = Field(
        50, le=1_000_000_000, ge=1, description="Validation loss every N steps: lower watches closer, costs time."
    )
    save_steps: int = Field(
        50, le=1_000_000_000, ge=1, description="Checkpoint every N steps (what --resume restarts from)."
    )
    save_total_limit: int = Field(
        2, le=10_000, ge=1, description="Checkpoints kept on disk (the best one is always kept)."
    )
    logging_steps: int = Field(
        10, le=1_000_000_000, ge=1, description="A metrics.jsonl/TensorBoard line every N steps."
    )
    early_stopping_patience: int = Field(
        3,
        le=10_000,
        ge=0,
        description=("Stop after this many evaluations without a better validation loss (0: never stop early)."),
    )
    allow_no_eval: bool = Field(
        False,
        description="Train even when every dataset's validation split is empty (no eval loss, no early stopping).",
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seeds data order, sampling and adapter init: same seed, same run."
    )

    # --- speed and memory ---
    gradient_checkpointing: Literal["auto"] | bool = Field(
        "auto",
        description=(
            "Recompute activations in backward: ~3-5x less activation memory, ~25-30% slower. "
            "auto: off when the estimator says the run fits without it (the GPU, or the free RAM on the CPU)."
        ),
    )
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto",
        description=(
            "Compute dtype. auto: bf16 on GPUs that have it, fp16 on older GPUs; on the CPU bf16 base weights (LoRA "
            "and optimizer fp32) where it has avx512_bf16/amx_bf16, else fp32 (bf16 is emulated and slower there)."
        ),
    )
    liger: Literal["auto"] | bool = Field(
        "auto",
        description=(
            "Liger Triton kernels (RMSNorm, RoPE, SwiGLU): less memory, faster. auto: on when liger-kernel is installed and a GPU is used."
        ),
    )
    attn_implementation: Attention = Field(
        "sdpa",
        description=(
            "Attention kernel. sdpa works everywhere; flash_attention_2 (if installed) is fastest with packing."
        ),
    )

    # --- scale ---
    gpu: str | None = Field(
        None,
        description=(
            "GPU memory to plan for, e.g. '24GiB' or a name like 'A100-80', 'L4'. Set: the estimator checks the fit even on a machine without that GPU. "
            "Unset: the visible GPU's memory."
        ),
    )
    num_gpus: int = Field(
        1, le=4096, ge=1, description="GPUs that train together (set by accelerate launch; used by the estimator)."
    )
    sharding: Sharding = Field(
        "none",
        description=(
            "none: one GPU; ddp: one full copy per GPU, faster; fsdp: weights sharded across GPUs, fits bigger models "
            "(QLoRA stores 4-bit weights as bf16 for FSDP)."
        ),
    )

    @field_validator("mix")  # MAX_MIX_WEIGHT: each record repeated that often per epoch is already absurd
    @classmethod
    def _known_kinds(cls, mix: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(mix) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown dataset kind(s) {unknown}; choose from {list(KINDS)}")
        bad = {k: w for k, w in mix.items() if not 0 <= w <= MAX_MIX_WEIGHT}  # also refuses nan
        if bad:
            raise ValueError(f"weights must be numbers from 0 to {MAX_MIX_WEIGHT}, got {bad}")
        if mix and not any(w > 0 for w in mix.values()):
            raise ValueError("every weight is 0: nothing would train")
        return mix

    @field_validator("gpu")
    @classmethod
    def _memory_size(cls, gpu: str | None) -> str | None:
        if gpu is not None:
            try:
                parse_gpu(gpu)
            except CorpusFtError as e:
                raise ValueError(str(e)) from None
        return gpu

    @field_validator("target_modules")
    @classmethod
    def _targets(cls, t):
        if isinstance(t, list) and not t:
            raise ValueError("name at least one module, or use 'all-linear'")
        return t

    @model_validator(mode="after")
    def _method_fits_settings(self) -> TrainConfig:
        """Combinations a method cannot train with are refused here, with the reason, before anything loads.

        It changes nothing: values a method derives (its learning rate, packing off for virtual tokens) are
        chosen by `method_settings`, which says why, so what ran and why it differs from the recipe is recorded.
        """
        if self.method not in ADAPTER_METHODS and self.use_dora:
            raise ValueError(
                f"use_dora is a LoRA option; method {self.method!r} has no LoRA adapters "
                "(use method lora or qlora with use_dora, or drop use_dora)"
            )
        if self.method == "ia3":
            extra = sorted(set(self.ia3_feedforward_modules) - set(self.ia3_target_modules))
            if extra:
                raise ValueError(
                    f"ia3_feedforward_modules {extra} must also be in ia3_target_modules {self.ia3_target_modules}"
                )
        if self.method not in PROMPT_METHODS:
            return self
        # Virtual tokens sit in front of ONE sequence: packed rows hold several records, and TRL's and
        # transformers' per-record masks (position_ids restarts, flash varlen) know nothing of the prefix.
        if self.packing and "packing" in self.model_fields_set:
            raise ValueError(
                f"method {self.method!r} cannot pack records: its virtual tokens belong in front of "
                "each record, and a packed row holds several; set packing: false"
            )
        if self.attn_implementation == "flash_attention_2":
            raise ValueError(
                f"method {self.method!r} with flash_attention_2: the flash path packs records into "
                "one varlen sequence, which the virtual tokens cannot front; use sdpa"
            )
        if self.method == "prefix" and self.gradient_checkpointing is True:
            raise ValueError(
                "method 'prefix' with gradient_checkpointing: PEFT refuses it (\"PREFIX_TUNING does not "
                'work with gradient checkpointing": the prefix enters every layer as a key/value '
                "cache that a recomputed layer would not see); set gradient_checkpointing: false or auto"
            )
        return self


def method_settings(config: TrainConfig) -> tuple[TrainConfig, list[dict]]:
    """The values a method derives from what the recipe left open, and why: (config to train, changes).

    Each change is `{"key", "given", "used", "reason"}`; the trainer adds its device's choices to the
    list (`trainer.resolve_settings`) and writes it to the run's manifest; the estimator plans from it.
    """
    changes: list[dict] = []

    def use(key: str, value, reason: str) -> None:
        changes.append({"key": key, "given": getattr(config, key), "used": value, "reason": reason})

    if config.learning_rate is None:
        use(
            "learning_rate",
            METHOD_LEARNING_RATES[config.method],
            f"unset: method {config.method}'s own rate (settings.METHOD_LEARNING_RATES)",
        )
    if config.method in PROMPT_METHODS and config.packing:
        use(
            "packing",
            False,
            f"method {config.method} puts virtual tokens in front of each record; a packed row holds several",
        )
    if config.method == "prefix" and config.gradient_checkpointing == "auto":
        use(
            "gradient_checkpointing",
            False,
            "PEFT's prefix tuning cannot recompute layers (its prefix is a key/value cache)",
        )
    return config.model_copy(update={c["key"]: c["used"] for c in changes}), changes
