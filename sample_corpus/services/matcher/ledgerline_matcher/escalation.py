"""Escalation of overdue exception cases and posting to the suspense account."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ledgerline_matcher.models import ExceptionCase
from ledgerline_matcher.tolerance import business_days_between

SUSPENSE_ACCOUNT = "9999-SUSP"
ESCALATE_AFTER_HOURS = 48
SUSPENSE_AFTER_BUSINESS_DAYS = 5
FINANCE_OPS_LEAD = "finance-ops-lead@corvane.example"


def cases_to_escalate(cases: list[ExceptionCase], now: datetime) -> list[ExceptionCase]:
    """Open cases older than 48 hours that have not been escalated yet."""
    limit = timedelta(hours=ESCALATE_AFTER_HOURS)
    return [c for c in cases if not c.escalated and now - c.created_at >= limit]


def escalate(cases: list[ExceptionCase], now: datetime, notify) -> int:
    count = 0
    for case in cases_to_escalate(cases, now):
        case.escalated = True
        case.owner = FINANCE_OPS_LEAD
        notify(FINANCE_OPS_LEAD, f"Exception {case.line.id} ({case.reason.value}) is overdue")
        count += 1
    return count


def cases_for_suspense(cases: list[ExceptionCase], today: date) -> list[ExceptionCase]:
    """Cases open for 5 business days or more: their amounts go to account 9999-SUSP."""
    return [c for c in cases
            if business_days_between(c.created_at.date(), today) >= SUSPENSE_AFTER_BUSINESS_DAYS]


def suspense_journal(cases: list[ExceptionCase]) -> list[dict]:
    return [{"account": SUSPENSE_ACCOUNT, "amount": str(c.line.amount), "currency": c.line.currency,
             "memo": f"suspense for exception on line {c.line.id}"} for c in cases]
