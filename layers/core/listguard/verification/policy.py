"""The published thresholds of the verification check, and the rules that turn counts into an outcome."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .model import BOUNCE_VERDICTS, Outcome, Reason, Verdict

MB = 1_000_000  # decimal, as the limit is published and reported


class Policy(BaseSettings):
    """Thresholds in force. Every one can be set from the environment (``LISTGUARD_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="LISTGUARD_", frozen=True)

    #: A check is required when the import adds at least this many new contacts ...
    check_min_new_contacts: int = Field(default=1_000, ge=0)
    #: ... and they are at least this share of the current list (any import of that size into an empty list).
    check_min_share_of_list: float = Field(default=0.25, ge=0)
    #: Predicted bounce rate that declines the import (Amazon SES pauses sending at 10% bounces).
    decline_bounce_rate: float = Field(default=0.10, ge=0, le=1)
    #: Predicted bounce rate that sends the import to manual review (Amazon SES reviews at 5%).
    review_bounce_rate: float = Field(default=0.05, ge=0, le=1)
    #: Largest import file accepted (Brevo accepts 250 MB).
    max_file_bytes: int = Field(default=250 * MB, gt=0)

    @model_validator(mode="after")
    def _review_before_decline(self) -> Policy:
        if self.review_bounce_rate > self.decline_bounce_rate:
            raise ValueError(
                f"review_bounce_rate ({self.review_bounce_rate}) must not exceed decline_bounce_rate "
                f"({self.decline_bounce_rate}): manual review could never be reached"
            )
        return self

    def verification_required(self, new_contacts: int, existing_contacts: int) -> bool:
        """Large relative to the current list: enough new contacts, and a big enough share of the list."""
        if new_contacts < self.check_min_new_contacts:
            return False
        return existing_contacts == 0 or new_contacts >= self.check_min_share_of_list * existing_contacts

    def decide(self, counts: Mapping[Verdict, int], rows: int) -> tuple[Outcome, list[Reason], float]:
        """The outcome, the reasons (each names the rule that fired) and the predicted bounce rate."""
        bounce_rate = predicted_bounce_rate(counts, rows)
        rule = "predicted_bounce_rate"
        if bounce_rate >= self.decline_bounce_rate:
            reason = Reason(
                rule=rule,
                value=bounce_rate,
                threshold=self.decline_bounce_rate,
                outcome=Outcome.DECLINED,
                message=f"predicted bounce rate {bounce_rate:.2%} is at or above the decline threshold "
                f"{_percent(self.decline_bounce_rate)}",
            )
        elif bounce_rate >= self.review_bounce_rate:
            reason = Reason(
                rule=rule,
                value=bounce_rate,
                threshold=self.review_bounce_rate,
                outcome=Outcome.MANUAL_REVIEW,
                message=f"predicted bounce rate {bounce_rate:.2%} is at or above the review threshold "
                f"{_percent(self.review_bounce_rate)}",
            )
        else:
            reason = Reason(
                rule=rule,
                value=bounce_rate,
                threshold=self.review_bounce_rate,
                outcome=Outcome.VALIDATED,
                message=f"predicted bounce rate {bounce_rate:.2%} is below the review threshold "
                f"{_percent(self.review_bounce_rate)}",
            )
        return reason.outcome, [reason], bounce_rate


def _percent(share: float) -> str:
    """A configured threshold as written: 0.1 -> "10%", 0.075 -> "7.5%"."""
    return f"{share * 100:g}%"


def predicted_bounce_rate(counts: Mapping[Verdict, int], rows: int) -> float:
    """Share of the file's distinct rows whose verdict would bounce or hurt reputation (``BOUNCE_VERDICTS``).

    Distinct rows: all data rows but duplicates and malformed rows. Those never become contacts, and
    counting them would let a file dilute its bounces with copies of one good address.
    """
    distinct = rows - counts.get(Verdict.DUPLICATE, 0) - counts.get(Verdict.MALFORMED_ROW, 0)
    if distinct <= 0:
        return 0.0
    return sum(counts.get(v, 0) for v in BOUNCE_VERDICTS) / distinct
