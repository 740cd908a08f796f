"""Who is unengaged: the rule of the clean step, from a contact's engagement dates (pure, no AWS).

The engagement attributes, and the column names that count as each (compared without regard to case,
spaces or punctuation, and with or without the export's ``listguard.`` prefix, so imported columns and
fields other flows write both count):

- ``last_open_at``: last_open_at, last_open, last_opened, last_opened_at, last_open_date,
  last_opened_date;
- ``last_click_at``: last_click_at, last_click, last_clicked, last_clicked_at, last_click_date,
  last_clicked_date;
- ``last_sent_at``: last_sent_at, last_sent, last_mailed, last_mailed_at, last_emailed_at,
  last_contacted_at;
- ``consent_at``: consent_at, consent_date, consented_at, opt_in_date, optin_date, opted_in_at,
  signup_date, signed_up_at, subscribed_at.

A value is a date or a date and time in ISO 8601 (``2026-03-01``, ``2026-03-01T09:30:00Z``); a time
without a zone is UTC. When a contact has several columns for one attribute, the latest date counts;
a value that is not such a date says nothing.

The rule, as of the remediation's start (the same answer whenever a step runs again), first match wins:

1. ``no_open_6_months``: the last open is more than 6 months old;
2. ``no_click_12_months``: the last click is more than 12 months old;
3. ``stale_consent``: consent is more than 2 years old and no open, click or email since.

Only dates the contact holds count: a contact without any engagement date is not called unengaged
(nothing says so), and its reimport is checked like any import.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum


class Unengaged(StrEnum):
    NO_OPEN_6_MONTHS = "no_open_6_months"
    NO_CLICK_12_MONTHS = "no_click_12_months"
    STALE_CONSENT = "stale_consent"


OPEN_MONTHS, CLICK_MONTHS, CONSENT_MONTHS = 6, 12, 24

_ALIASES: dict[str, tuple[str, ...]] = {
    "last_open_at": (
        "last_open_at",
        "last_open",
        "last_opened",
        "last_opened_at",
        "last_open_date",
        "last_opened_date",
    ),
    "last_click_at": (
        "last_click_at",
        "last_click",
        "last_clicked",
        "last_clicked_at",
        "last_click_date",
        "last_clicked_date",
    ),
    "last_sent_at": (
        "last_sent_at",
        "last_sent",
        "last_mailed",
        "last_mailed_at",
        "last_emailed_at",
        "last_contacted_at",
    ),
    "consent_at": (
        "consent_at",
        "consent_date",
        "consented_at",
        "opt_in_date",
        "optin_date",
        "opted_in_at",
        "signup_date",
        "signed_up_at",
        "subscribed_at",
    ),
}


def _name_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.strip().lstrip("\ufeff").casefold().removeprefix("listguard."))


#: Normalised column name -> the engagement attribute it holds.
ATTRIBUTE_OF_NAME: dict[str, str] = {
    _name_key(alias): attribute for attribute, aliases in _ALIASES.items() for alias in aliases
}


@dataclass(frozen=True)
class Engagement:
    last_open_at: datetime | None = None
    last_click_at: datetime | None = None
    last_sent_at: datetime | None = None
    consent_at: datetime | None = None

    @classmethod
    def of(cls, columns: Iterable[tuple[str, object]]) -> Engagement:
        """From a contact's columns (name, value): the latest date of each attribute."""
        found: dict[str, datetime] = {}
        for name, value in columns:
            attribute = ATTRIBUTE_OF_NAME.get(_name_key(name))
            if attribute is None or value is None:
                continue
            moment = parse_moment(str(value))
            if moment is not None and (attribute not in found or moment > found[attribute]):
                found[attribute] = moment
        return cls(**found)

    @classmethod
    def of_mapping(cls, columns: Mapping[str, object]) -> Engagement:
        return cls.of(columns.items())


@dataclass(frozen=True)
class Finding:
    reason: Unengaged
    detail: str


def unengaged(engagement: Engagement, as_of: datetime) -> Finding | None:
    """Why the contact is unengaged as of ``as_of``, or None (see the module's rule)."""
    last_open, last_click = engagement.last_open_at, engagement.last_click_at
    if last_open is not None and last_open < months_before(as_of, OPEN_MONTHS):
        return Finding(
            Unengaged.NO_OPEN_6_MONTHS, f"last open {last_open.date()}, over {OPEN_MONTHS} months ago"
        )
    if last_click is not None and last_click < months_before(as_of, CLICK_MONTHS):
        return Finding(
            Unengaged.NO_CLICK_12_MONTHS, f"last click {last_click.date()}, over {CLICK_MONTHS} months ago"
        )
    consent = engagement.consent_at
    if consent is not None and consent < months_before(as_of, CONSENT_MONTHS):
        since = [m for m in (last_open, last_click, engagement.last_sent_at) if m is not None and m > consent]
        if not since:
            return Finding(
                Unengaged.STALE_CONSENT,
                f"consent {consent.date()}, over {CONSENT_MONTHS // 12} years ago, "
                "and no email, open or click since",
            )
    return None


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_moment(value: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (UTC when no zone is given), or None."""
    text = value.strip()
    if not text or not text[:1].isdigit():
        return None
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
