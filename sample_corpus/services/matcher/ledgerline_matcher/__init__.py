"""Ledgerline matcher: matches bank statement lines against ledger entries.

The engine runs three passes (exact, normalised reference, fuzzy) and books a match
automatically only when its confidence is at least 0.92.
"""

from ledgerline_matcher.engine import MatchEngine
from ledgerline_matcher.models import LedgerEntry, MatchGroup, StatementLine

__all__ = ["LedgerEntry", "MatchEngine", "MatchGroup", "StatementLine"]
__version__ = "3.5.0"
