"""What the `hf` and `openai` generators share: prompt, complete, parse, count.

A subclass only says how to complete a batch of conversations (`complete`); this class turns
chunks and code units into prompts from the templates, and replies into pairs or summaries.
`stats` is read by the builder and written into the dataset's stats.json.
"""

from __future__ import annotations

import contextlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from corpus_ft.generate import Chunk, GeneratorConfig, QAPair
from corpus_ft.generate.parse import parse_answer, parse_questions, parse_summary, parse_verdict
from corpus_ft.generate.prompts import (
    answer_prompt,
    check_prompt,
    load_templates,
    paraphrase_prompt,
    qa_prompt,
    summary_prompt,
)
from corpus_ft.model.generate import Advance

Messages = list[dict[str, str]]


@contextlib.contextmanager
def progress_bar(total: int, label: str, enabled: bool) -> Iterator[Advance]:
    """A progress bar on stderr (thread-safe `advance(n)`), or a no-op when disabled."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


class PromptGenerator(ABC):
    """What the hf and openai generators share: templates, parsing, stats; they supply `complete`."""

    name = "llm"
    version = "1"

    def __init__(self, cfg: GeneratorConfig):
        self.cfg = cfg
        self.templates = load_templates(cfg.prompts)
        self.progress = sys.stderr.isatty()  # a bar while generating, for a person watching
        # prompts: asked for; cache_hits: answered from the cache; unparseable: replies dropped
        # because no question/summary could be read; failed: requests the endpoint refused.
        # qa only: unanswered (the model said the chunk does not answer), grounding_checked /
        # grounding_dropped (pairs the check saw / found unsupported), grounding_unreadable
        # (check replies that said neither; those pairs are kept).
        self.stats: dict[str, int] = {"prompts": 0, "cache_hits": 0, "unparseable": 0, "failed": 0}

    @abstractmethod
    def complete(self, batch: list[Messages], advance: Advance = lambda n: None) -> list[str | None]:
        """The model's reply to each conversation, in order (None for a request that failed).

        Calls `advance(n)` as replies arrive, for the progress bar.
        """

    def _replies(self, prompts: list[str], what: str) -> list[str | None]:
        self.stats["prompts"] += len(prompts)
        if not prompts:
            return []
        with progress_bar(len(prompts), f"{self.name}: {what}", self.progress) as advance:
            return self.complete([[{"role": "user", "content": p}] for p in prompts], advance)

    def questions(self, chunks: Sequence[Chunk]) -> list[list[QAPair]]:
        """For each chunk, up to questions_per_chunk pairs, in three steps: questions (seeing the title,
        heading path and product), an answer to each from the chunk alone, and a grounding check
        that drops answers the chunk does not support ([] when nothing survives)."""
        n = self.cfg.questions_per_chunk
        replies = self._replies([qa_prompt(self.templates["qa"], c, n) for c in chunks], "questions")
        asked: list[tuple[int, str]] = []
        for i, reply in enumerate(replies):
            questions = parse_questions(reply, limit=n) if reply is not None else None
            self.stats["unparseable"] += reply is not None and questions is None
            asked += [(i, q) for q in questions or []]
        answers = self._replies([answer_prompt(self.templates["qa_answer"], chunks[i], q) for i, q in asked], "answers")
        pairs: list[tuple[int, QAPair]] = []
        for (i, q), reply in zip(asked, answers):
            answer = parse_answer(reply) if reply is not None else None
            if reply is not None and answer is None:
                self.stats["unanswered"] = self.stats.get("unanswered", 0) + 1
            if answer:
                pairs.append((i, QAPair(question=q, answer=answer)))
        if self.cfg.grounding_check and pairs:
            verdicts = self._replies(
                [check_prompt(self.templates["qa_check"], chunks[i], p["question"], p["answer"]) for i, p in pairs],
                "grounding check",
            )
            kept = []
            for (i, p), reply in zip(pairs, verdicts):
                verdict = parse_verdict(reply) if reply is not None else None
                self.stats["grounding_checked"] = self.stats.get("grounding_checked", 0) + (verdict is not None)
                self.stats["grounding_dropped"] = self.stats.get("grounding_dropped", 0) + (verdict is False)
                if verdict is None:
                    self.stats["grounding_unreadable"] = self.stats.get("grounding_unreadable", 0) + 1
                if verdict is not False:
                    kept.append((i, p))
            pairs = kept
        out: list[list[QAPair]] = [[] for _ in chunks]
        for i, p in pairs:
            out[i].append(p)
        return out

    def paraphrases(self, questions: Sequence[str], n: int) -> list[list[str]]:
        """For each question, up to n rewordings (datasets.augment.paraphrase); the question itself is left out."""
        replies = self._replies(
            [paraphrase_prompt(self.templates["qa_paraphrase"], q, n) for q in questions], "paraphrases"
        )
        out = []
        for question, reply in zip(questions, replies):
            found = parse_questions(reply, limit=n + 1) if reply is not None else None
            self.stats["unparseable"] += reply is not None and found is None
            same = " ".join(question.split()).lower()
            out.append([q for q in found or [] if q.lower() != same][:n])
        return out

    def summaries(self, units: Sequence[dict]) -> list[str | None]:
        """For each code unit, a one-paragraph summary, or None when the reply could not be read."""
        replies = self._replies([summary_prompt(self.templates["code_summary"], u) for u in units], "summaries")
        out = []
        for reply in replies:
            summary = parse_summary(reply) if reply is not None else None
            self.stats["unparseable"] += reply is not None and summary is None
            out.append(summary)
        return out
