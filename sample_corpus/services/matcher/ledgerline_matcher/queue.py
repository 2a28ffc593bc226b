"""Kafka consumer loop that feeds statement lines to the engine in account order."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Iterable, Iterator

from ledgerline_matcher.models import StatementLine

log = logging.getLogger(__name__)

TOPIC = "ledgerline.statement-lines.v2"
EXCEPTIONS_TOPIC = "ledgerline.exceptions.v1"
BATCH_SIZE = 500


def decode_line(payload: bytes) -> StatementLine:
    """Turn one Kafka message into a StatementLine; amounts stay Decimal, never float."""
    raw = json.loads(payload)
    return StatementLine(
        id=f"{raw['statement_id']}:{raw['line_no']}",
        account_id=raw["account_id"],
        amount=Decimal(raw["amount"]),
        currency=raw["currency"],
        value_date=date.fromisoformat(raw["value_date"]),
        booking_date=date.fromisoformat(raw["booking_date"]),
        bank_reference=raw.get("bank_reference", ""),
        end_to_end_reference=raw.get("end_to_end_reference"),
        counterparty=raw.get("counterparty", ""),
        reversal=raw.get("reversal", False),
    )


def batches(messages: Iterable[bytes], size: int = BATCH_SIZE) -> Iterator[dict[str, list[StatementLine]]]:
    """Group decoded lines by account, at most `size` lines per batch."""
    batch: dict[str, list[StatementLine]] = defaultdict(list)
    count = 0
    seen: set[str] = set()
    for payload in messages:
        line = decode_line(payload)
        if line.id in seen:  # replays may publish a line twice; the first copy wins
            continue
        seen.add(line.id)
        batch[line.account_id].append(line)
        count += 1
        if count >= size:
            yield dict(batch)
            batch, count = defaultdict(list), 0
    if batch:
        yield dict(batch)


class QueueDepthGauge:
    """Tracks `ledgerline_matcher_queue_depth`; the backlog alert fires above 50,000."""

    ALERT_THRESHOLD = 50_000

    def __init__(self):
        self.depth = 0
        self.updated = time.monotonic()

    def set(self, depth: int) -> None:
        self.depth = depth
        self.updated = time.monotonic()
        if depth > self.ALERT_THRESHOLD:
            log.warning("matcher queue depth %d above %d", depth, self.ALERT_THRESHOLD)

    def above_threshold(self) -> bool:
        return self.depth > self.ALERT_THRESHOLD
