"""The clean step's engagement rule: no open in 6 months, no click in 12, or consent over 2 years old
with no email, open or click since; only the dates a contact holds count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from listguard.flows.remediation.engagement import (
    Engagement,
    Unengaged,
    months_before,
    parse_moment,
    unengaged,
)

AS_OF = datetime(2026, 11, 30, 12, tzinfo=UTC)


def verdict(**columns: str) -> Unengaged | None:
    finding = unengaged(Engagement.of_mapping(columns), AS_OF)
    return None if finding is None else finding.reason


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"last_open_at": "2026-10-01", "last_click_at": "2026-09-01"}, None),
        ({"last_open_at": "2026-05-29"}, Unengaged.NO_OPEN_6_MONTHS),
        ({"last_open_at": "2026-05-30T12:00:00Z"}, None),  # exactly 6 months: still engaged
        ({"last_open_at": "2026-10-01", "last_click_at": "2025-11-29"}, Unengaged.NO_CLICK_12_MONTHS),
        ({"last_open_at": "2026-01-01", "last_click_at": "2020-01-01"}, Unengaged.NO_OPEN_6_MONTHS),
        ({"consent_at": "2024-11-29"}, Unengaged.STALE_CONSENT),
        ({"consent_at": "2024-12-01"}, None),
        ({"consent_at": "2020-01-01", "last_sent_at": "2026-11-01"}, None),  # mailed since
        ({"consent_at": "2020-01-01", "last_sent_at": "2019-06-01"}, Unengaged.STALE_CONSENT),
        ({}, None),  # nothing says it is unengaged
        ({"last_open_at": "last spring", "consent_at": "n/a"}, None),  # not a date: says nothing
    ],
)
def test_the_rule(columns: dict[str, str], expected: Unengaged | None) -> None:
    assert verdict(**columns) == expected


@pytest.mark.parametrize(
    "name", ["last_open", "Last Opened", "LAST-OPEN-DATE", "listguard.last_open_at", "last_opened_at"]
)
def test_imported_columns_and_other_flows_fields_with_such_names_count(name: str) -> None:
    assert verdict(**{name: "2025-01-01"}) is Unengaged.NO_OPEN_6_MONTHS


def test_the_latest_of_several_columns_for_one_attribute_counts() -> None:
    assert verdict(last_open="2025-01-01", **{"listguard.last_open_at": "2026-11-01"}) is None


def test_the_detail_says_which_date_broke_which_rule() -> None:
    finding = unengaged(Engagement.of_mapping({"signup_date": "2023-03-04"}), AS_OF)
    assert finding is not None
    assert finding.detail == "consent 2023-03-04, over 2 years ago, and no email, open or click since"


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_dates_and_times_are_iso_8601_utc_unless_zoned() -> None:
    assert parse_moment("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_moment("2026-01-02 10:30") == datetime(2026, 1, 2, 10, 30, tzinfo=UTC)
    assert parse_moment("2026-01-02T10:30:00+02:00") == datetime(2026, 1, 2, 8, 30, tzinfo=UTC)
    assert parse_moment("02/01/2026") is None
