"""Domain objects of the matcher: statement lines, ledger entries, match groups, exceptions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal


class MatchPass(str, enum.Enum):
    """The pass of the engine that created a match group."""

    EXACT = "exact"
    NORMALISED = "normalised"
    FUZZY = "fuzzy"
    MANUAL = "manual"


class ExceptionReason(str, enum.Enum):
    NO_CANDIDATE = "NO_CANDIDATE"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DUPLICATE_LINE = "DUPLICATE_LINE"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"


@dataclass(frozen=True)
class StatementLine:
    """One movement of cash reported by a bank; never updated after import."""

    id: str
    account_id: str
    amount: Decimal
    currency: str
    value_date: date
    booking_date: date
    bank_reference: str
    end_to_end_reference: str | None = None
    counterparty: str = ""
    reversal: bool = False


@dataclass
class LedgerEntry:
    """An expected movement of cash recorded by an upstream system."""

    id: str
    account_id: str
    amount: Decimal
    currency: str
    value_date: date
    reference: str
    counterparty: str = ""
    status: str = "open"

    def is_open(self) -> bool:
        return self.status == "open"


@dataclass
class MatchGroup:
    """Statement lines and ledger entries that settle each other."""

    lines: list[StatementLine]
    entries: list[LedgerEntry]
    match_pass: MatchPass
    confidence: float
    confirmed_by: str | None = None
    created_at: datetime = field(default_factory=datetime.utcnow)

    class Totals:
        """Sums of both sides of a group, used to check the amount tolerance."""

        def __init__(self, lines: list[StatementLine], entries: list[LedgerEntry]):
            self.lines_total = sum((l.amount for l in lines), Decimal("0"))
            self.entries_total = sum((e.amount for e in entries), Decimal("0"))

        @property
        def difference(self) -> Decimal:
            return abs(self.lines_total - self.entries_total)

    def totals(self) -> "MatchGroup.Totals":
        return MatchGroup.Totals(self.lines, self.entries)

    def is_auto(self) -> bool:
        return self.match_pass is not MatchPass.MANUAL and self.confirmed_by is None


@dataclass
class ExceptionCase:
    """A statement line the engine could not match; due 48 hours after creation."""

    line: StatementLine
    reason: ExceptionReason
    created_at: datetime
    owner: str = "finance-ops"
    comments: list[str] = field(default_factory=list)
    escalated: bool = False

    ESCALATE_AFTER = timedelta(hours=48)

    @property
    def due_at(self) -> datetime:
        return self.created_at + self.ESCALATE_AFTER

    def is_overdue(self, now: datetime) -> bool:
        return now >= self.due_at
