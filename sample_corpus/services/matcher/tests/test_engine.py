from datetime import date, datetime
from decimal import Decimal

from ledgerline_matcher.engine import MatchEngine, normalise_reference
from ledgerline_matcher.models import LedgerEntry, MatchPass, StatementLine


def line(amount="100.00", ref="E2E-1", name="Acme GmbH", day=date(2026, 11, 18)):
    return StatementLine("s1:1", "ACC-1", Decimal(amount), "EUR", day, day, "BANKREF", ref, name)


def entry(id="L1", amount="100.00", ref="E2E-1", name="Acme GmbH", day=date(2026, 11, 18)):
    return LedgerEntry(id, "ACC-1", Decimal(amount), "EUR", day, ref, name)


def test_exact_match_has_confidence_one():
    result = MatchEngine().run([line()], [entry()], now=datetime(2026, 11, 19))
    assert result.groups[0].match_pass is MatchPass.EXACT
    assert result.groups[0].confidence == 1.0


def test_normalised_reference():
    assert normalise_reference("inv 000123") == "INV123"
    result = MatchEngine().run([line(ref="inv 000123")], [entry(ref="INV123")])
    assert result.groups[0].match_pass is MatchPass.NORMALISED


def test_amount_outside_tolerance_is_exception():
    result = MatchEngine().run([line(amount="100.05", ref=None, name="Zeta")], [entry(ref="X")])
    assert len(result.exceptions) == 1


def test_partial_match_splitting():
    entries = [entry("L1", "60.00", "A"), entry("L2", "40.00", "B")]
    result = MatchEngine().run([line(ref=None)], entries)
    assert [e.id for e in result.groups[0].entries] == ["L1", "L2"]
