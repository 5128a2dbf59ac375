"""Counterexamples: generators, search, certification (and the committed corpus)."""

from .certify import Outcome, check_exact
from .search import SearchConfig, search_property

__all__ = ["Outcome", "SearchConfig", "check_exact", "search_property"]
