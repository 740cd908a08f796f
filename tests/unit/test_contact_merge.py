"""Pure rules of a contact merge (no AWS)."""

from __future__ import annotations

from listguard.domain import FlagStatus, higher_flag
from listguard.stores.contacts import ATTRIBUTES_BUDGET_BYTES, fit_attributes


def test_an_import_never_lowers_a_flag() -> None:
    for current in FlagStatus:
        for applied in FlagStatus:
            assert higher_flag(current, applied).rank == max(current.rank, applied.rank)


def test_attributes_keep_within_the_item_budget() -> None:
    # Given stored columns and imported columns that together exceed the budget
    big = "x" * (ATTRIBUTES_BUDGET_BYTES // 2)
    merged = fit_attributes({"old": big, "keep": "1"}, {"new": big, "city": "Lyon"})
    # Then the imported columns come first, and what does not fit is left out, the rest kept
    assert list(merged) == ["new", "city", "keep"]
