"""Account standing: repeated declined imports put an account under review, then suspend it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from listguard.domain.vocabulary import AccountStanding


class StandingPolicy(BaseSettings):
    """Read from ``LISTGUARD_<NAME>``; the stack sets them from its parameters."""

    model_config = SettingsConfigDict(env_prefix="LISTGUARD_", frozen=True)

    #: This many declined imports within the window put the account under review ...
    review_after_declines: int = Field(default=2, ge=1)
    #: ... and this many suspend it.
    suspend_after_declines: int = Field(default=3, ge=1)
    decline_window_days: int = Field(default=90, ge=1)

    def standing(
        self, declines: Mapping[str, str], *, now: datetime, reset_at: str | None
    ) -> AccountStanding:
        """The standing that the declined imports (import id -> ISO time) give an account ``now``."""
        since = (now - timedelta(days=self.decline_window_days)).isoformat()
        counted = sum(1 for at in declines.values() if at >= since and (reset_at is None or at > reset_at))
        if counted >= self.suspend_after_declines:
            return AccountStanding.SUSPENDED
        if counted >= self.review_after_declines:
            return AccountStanding.UNDER_REVIEW
        return AccountStanding.GOOD

    def recent_declines(self, declines: Mapping[str, str], *, now: datetime, reset_at: str | None) -> int:
        since = (now - timedelta(days=self.decline_window_days)).isoformat()
        return sum(1 for at in declines.values() if at >= since and (reset_at is None or at > reset_at))
