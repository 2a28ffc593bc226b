"""Tolerances the engine applies: amount tolerance and the business-day tolerance window."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

DEFAULT_AMOUNT_TOLERANCE = Decimal("0.01")
MAX_AMOUNT_TOLERANCE = Decimal("1.00")
TOLERANCE_DAYS = 3


def amount_within_tolerance(a: Decimal, b: Decimal, tolerance: Decimal = DEFAULT_AMOUNT_TOLERANCE) -> bool:
    """True when two amounts differ by at most the tolerance (inclusive)."""
    if tolerance < 0 or tolerance > MAX_AMOUNT_TOLERANCE:
        raise ValueError(f"amount tolerance must be between 0.00 and {MAX_AMOUNT_TOLERANCE}, got {tolerance}")
    return abs(a - b) <= tolerance


def is_business_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def business_days_between(a: date, b: date, holidays: frozenset[date] = frozenset()) -> int:
    """Number of business days from the earlier date to the later one (0 for the same day)."""
    start, end = sorted((a, b))
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_business_day(current, holidays):
            days += 1
    return days


def within_window(line_date: date, entry_date: date, window: int = TOLERANCE_DAYS,
                  holidays: frozenset[date] = frozenset()) -> bool:
    """True when the value dates are at most `window` business days apart."""
    return business_days_between(line_date, entry_date, holidays) <= window


def jaro_winkler(s1: str, s2: str, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity of two counterparty names, case-insensitive."""
    s1, s2 = s1.lower().strip(), s2.lower().strip()
    if s1 == s2:
        return 1.0
    if not s1 or not s2:
        return 0.0
    match_distance = max(len(s1), len(s2)) // 2 - 1
    s1_matches = [False] * len(s1)
    s2_matches = [False] * len(s2)
    matches = 0
    for i, c in enumerate(s1):
        lo, hi = max(0, i - match_distance), min(i + match_distance + 1, len(s2))
        for j in range(lo, hi):
            if not s2_matches[j] and s2[j] == c:
                s1_matches[i] = s2_matches[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    transpositions, k = 0, 0
    for i, c in enumerate(s1):
        if s1_matches[i]:
            while not s2_matches[k]:
                k += 1
            if c != s2[k]:
                transpositions += 1
            k += 1
    jaro = (matches / len(s1) + matches / len(s2) + (matches - transpositions / 2) / matches) / 3
    prefix = 0
    for a, b in zip(s1[:4], s2[:4]):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)
