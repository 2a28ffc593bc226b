"""The matching engine: three passes from strict to lenient, deterministic candidate order."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ledgerline_matcher.models import (ExceptionCase, ExceptionReason, LedgerEntry, MatchGroup,
                                       MatchPass, StatementLine)
from ledgerline_matcher.tolerance import (DEFAULT_AMOUNT_TOLERANCE, amount_within_tolerance,
                                          business_days_between, jaro_winkler, within_window)

log = logging.getLogger(__name__)

AUTO_MATCH_THRESHOLD = 0.92
SUGGEST_THRESHOLD = 0.75
NAME_SIMILARITY_MIN = 0.88
MAX_SPLIT_ENTRIES = 20

_NUMERIC_PART = re.compile(r"\d+")


def normalise_reference(ref: str | None) -> str:
    """Upper-case, drop whitespace and strip leading zeros of numbers: 'inv 000123' -> 'INV123'."""
    if not ref:
        return ""
    compact = re.sub(r"\s+", "", ref).upper()
    return _NUMERIC_PART.sub(lambda m: m.group(0).lstrip("0") or "0", compact)


@dataclass
class EngineResult:
    groups: list[MatchGroup]
    suggestions: list[MatchGroup]
    exceptions: list[ExceptionCase]


class MatchEngine:
    """Matches statement lines to open ledger entries of the same account and currency.

    Pass 1 (exact) compares amount, currency and end-to-end reference; pass 2 compares
    normalised references; pass 3 (fuzzy) scores amount, value-date distance and
    counterparty-name similarity.
    """

    def __init__(self, amount_tolerance: Decimal = DEFAULT_AMOUNT_TOLERANCE,
                 auto_threshold: float = AUTO_MATCH_THRESHOLD,
                 suggest_threshold: float = SUGGEST_THRESHOLD,
                 partial_match_splitting: bool = True):
        if not 0 < suggest_threshold <= auto_threshold <= 1:
            raise ValueError("thresholds must satisfy 0 < suggest <= auto <= 1")
        self.amount_tolerance = amount_tolerance
        self.auto_threshold = auto_threshold
        self.suggest_threshold = suggest_threshold
        self.partial_match_splitting = partial_match_splitting

    def run(self, lines: list[StatementLine], entries: list[LedgerEntry],
            now: datetime | None = None) -> EngineResult:
        now = now or datetime.utcnow()
        open_entries = sorted((e for e in entries if e.is_open()), key=lambda e: e.id)
        groups: list[MatchGroup] = []
        suggestions: list[MatchGroup] = []
        exceptions: list[ExceptionCase] = []
        remaining = list(lines)
        for match_pass in (self._exact, self._normalised):
            unmatched = []
            for line in remaining:
                group = match_pass(line, open_entries)
                if group is None:
                    unmatched.append(line)
                    continue
                groups.append(group)
                for entry in group.entries:
                    entry.status = "matched"
                open_entries = [e for e in open_entries if e.is_open()]
            remaining = unmatched
        for line in remaining:
            group = self._fuzzy(line, open_entries)
            if group is None:
                exceptions.append(ExceptionCase(line, ExceptionReason.NO_CANDIDATE, now))
            elif group.confidence >= self.auto_threshold:
                groups.append(group)
                for entry in group.entries:
                    entry.status = "matched"
                open_entries = [e for e in open_entries if e.is_open()]
            elif group.confidence >= self.suggest_threshold:
                suggestions.append(group)
            else:
                exceptions.append(ExceptionCase(line, ExceptionReason.LOW_CONFIDENCE, now))
        log.info("matched=%d suggested=%d exceptions=%d", len(groups), len(suggestions), len(exceptions))
        return EngineResult(groups, suggestions, exceptions)

    def _exact(self, line: StatementLine, entries: list[LedgerEntry]) -> MatchGroup | None:
        for entry in entries:
            if (entry.account_id == line.account_id and entry.currency == line.currency
                    and entry.amount == line.amount and line.end_to_end_reference
                    and entry.reference == line.end_to_end_reference):
                return MatchGroup([line], [entry], MatchPass.EXACT, 1.0)
        return None

    def _normalised(self, line: StatementLine, entries: list[LedgerEntry]) -> MatchGroup | None:
        wanted = normalise_reference(line.end_to_end_reference or line.bank_reference)
        if not wanted:
            return None
        for entry in entries:
            if (entry.account_id == line.account_id and entry.currency == line.currency
                    and amount_within_tolerance(entry.amount, line.amount, self.amount_tolerance)
                    and normalise_reference(entry.reference) == wanted):
                return MatchGroup([line], [entry], MatchPass.NORMALISED, 0.97)
        return None

    def _candidates(self, line: StatementLine, entries: list[LedgerEntry]) -> list[LedgerEntry]:
        found = [e for e in entries if e.account_id == line.account_id and e.currency == line.currency
                 and within_window(line.value_date, e.value_date)]
        return sorted(found, key=lambda e: (business_days_between(line.value_date, e.value_date), e.id))

    def score(self, line: StatementLine, entry: LedgerEntry) -> float:
        """Confidence that `entry` settles `line`, between 0 and 1."""
        if not amount_within_tolerance(entry.amount, line.amount, self.amount_tolerance):
            return 0.0
        days = business_days_between(line.value_date, entry.value_date)
        date_score = 1.0 - days / 4
        name = jaro_winkler(line.counterparty, entry.counterparty)
        name_score = name if name >= NAME_SIMILARITY_MIN else 0.0
        return round(0.4 + 0.25 * date_score + 0.35 * name_score, 4)

    def _fuzzy(self, line: StatementLine, entries: list[LedgerEntry]) -> MatchGroup | None:
        candidates = self._candidates(line, entries)
        if not candidates:
            return None
        best = max(candidates, key=lambda e: self.score(line, e))
        best_score = self.score(line, best)
        if best_score > 0:
            return MatchGroup([line], [best], MatchPass.FUZZY, best_score)
        if self.partial_match_splitting:
            return self._split(line, candidates)
        return None

    def _split(self, line: StatementLine, candidates: list[LedgerEntry]) -> MatchGroup | None:
        """Partial-match splitting: entries of one counterparty that sum to the line's amount."""
        same_party = [e for e in candidates
                      if jaro_winkler(line.counterparty, e.counterparty) >= NAME_SIMILARITY_MIN]
        chosen: list[LedgerEntry] = []
        total = Decimal("0")
        for entry in same_party[:MAX_SPLIT_ENTRIES]:
            if total + entry.amount > line.amount + self.amount_tolerance:
                continue
            chosen.append(entry)
            total += entry.amount
            if amount_within_tolerance(total, line.amount, self.amount_tolerance):
                return MatchGroup([line], chosen, MatchPass.FUZZY, min(0.95, 0.85 + 0.01 * len(chosen)))
        return None
