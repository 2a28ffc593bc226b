"""The `hf` generator: a local transformers model (a directory or a hub id, offline), batched.

Runs on CUDA in bf16 when a GPU is present, else on the CPU in fp32; left-pads batches,
applies the tokenizer's chat template when it has one, and decodes greedily at temperature 0
so a run is reproducible. Responses go to the same persistent cache as the `openai`
generator, so a re-run is free. `corpus-ft serve` uses `load_model` and `generate` too.
"""

from __future__ import annotations

from pathlib import Path

from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.cache import ResponseCache, request_key
from corpus_ft.generate.llm import Advance, Messages, PromptGenerator
from corpus_ft.model.chat import render_chat
from corpus_ft.model.generate import generate, load_model, model_fingerprint
from corpus_ft.util import CorpusFtError


class HFGenerator(PromptGenerator):
    """Questions and summaries from a local transformers model; the model loads on first use."""

    name = "hf"
    version = "1"

    def __init__(self, cfg: GeneratorConfig, cache_dir: str | Path | None = None):
        if not cfg.model:
            raise CorpusFtError(
                "datasets.generator.model is required for type: hf "
                "(a local model directory or a hub id in the HF cache)"
            )
        super().__init__(cfg)
        self.model = cfg.model
        self.cache = ResponseCache(cache_dir) if cache_dir is not None and cfg.cache else None
        self._lm = None
        self._tokenizer = None

    def complete(self, batch: list[Messages], advance: Advance = lambda n: None) -> list[str]:
        params = {"max_tokens": self.cfg.max_new_tokens, "temperature": self.cfg.temperature}
        fingerprint = model_fingerprint(self.model) if self.cache is not None else ""
        keys = [request_key(fingerprint, m, params) for m in batch]
        results = [self.cache.get(k) if self.cache is not None else None for k in keys]
        self.stats["cache_hits"] += sum(r is not None for r in results)
        advance(sum(r is not None for r in results))
        todo = [i for i, r in enumerate(results) if r is None]
        if self._lm is None and todo:
            self._lm, self._tokenizer = load_model(self.model)
        texts = {i: render_chat(self._tokenizer, batch[i]) for i in todo}
        todo.sort(key=lambda i: len(texts[i]))  # batches of similar length waste less on padding
        bs = self.cfg.batch_size
        for start in range(0, len(todo), bs):  # cache each batch as it finishes: a killed run keeps it
            idx = todo[start : start + bs]
            done = generate(
                self._lm,
                self._tokenizer,
                [texts[i] for i in idx],
                max_new_tokens=self.cfg.max_new_tokens,
                temperature=self.cfg.temperature,
                batch_size=bs,
                chat_template_applied=bool(getattr(self._tokenizer, "chat_template", None)),
            )
            for i, completion in zip(idx, done):
                results[i] = completion.text
                if self.cache is not None:
                    self.cache.put(keys[i], completion.text, {"model": fingerprint, "messages": batch[i], **params})
            advance(len(idx))
        return results  # type: ignore[return-value]
