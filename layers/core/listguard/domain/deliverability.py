"""The deliverability check of a campaign: when to sample first, which contacts, and pause or continue.

A campaign that targets many contacts nobody has mailed yet goes first to a random sample of them. SES
tells, through bounce and complaint notifications, how that sample fared; at the end of the observation
window the published thresholds decide: at or above either rate the campaign pauses, under both it
continues to everyone. No AWS here.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliverabilityPolicy(BaseSettings):
    """Read from ``LISTGUARD_<NAME>``; the stack sets them from its parameters."""

    model_config = SettingsConfigDict(env_prefix="LISTGUARD_", frozen=True)

    #: The sample's hard bounce rate that pauses a campaign (Amazon SES reviews an account at 5%).
    hard_bounce_rate_to_pause: float = Field(default=0.05, gt=0, le=1)
    #: The sample's complaint rate that pauses a campaign (Amazon SES reviews an account at 0.1%).
    complaint_rate_to_pause: float = Field(default=0.001, gt=0, le=1)
    #: How many never-mailed contacts the sample holds ...
    sample_size: int = Field(default=500, ge=1)
    #: ... when the campaign targets at least this many of them (fewer go out at once).
    sample_min_new_contacts: int = Field(default=2_000, ge=1)
    #: How long bounces and complaints of the sample are awaited before the decision.
    observation_window_seconds: int = Field(default=4 * 3600, ge=1)
    #: Emails per second, over every campaign of the stack (SES's first production quota is 14).
    send_rate_per_second: int = Field(default=14, ge=1)

    def samples(self, new_contacts: int) -> bool:
        """Whether a campaign to ``new_contacts`` never-mailed contacts goes to a sample first."""
        return new_contacts >= self.sample_min_new_contacts and new_contacts > self.sample_size


@dataclass(frozen=True)
class SampleRates:
    """What SES said of the sample: emails sent, and the feedback that came back."""

    sent: int
    hard_bounces: int
    complaints: int
    soft_bounces: int = 0

    @property
    def hard_bounce_rate(self) -> float:
        return self.hard_bounces / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Decision:
    pause: bool
    #: Each names the measure, its value and the threshold (never an address).
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "pause" if self.pause else "continue"


class NoSampleSentError(Exception):
    """Not one email of the sample was confirmed sent: there is nothing to decide on."""


def decide(
    rates: SampleRates, *, hard_bounce_rate_to_pause: float, complaint_rate_to_pause: float
) -> Decision:
    """At or above either threshold the campaign pauses; under both it continues to everyone."""
    if rates.sent == 0:
        raise NoSampleSentError(
            "no email of the sample was confirmed sent (SES refused them or did not answer): "
            "check the sender's identity in SES, then `listguard campaigns send` resumes the campaign"
        )
    measures = (
        ("hard bounce rate", rates.hard_bounce_rate, rates.hard_bounces, hard_bounce_rate_to_pause),
        ("complaint rate", rates.complaint_rate, rates.complaints, complaint_rate_to_pause),
    )
    reasons, pause = [], False
    for name, rate, count, threshold in measures:
        over = rate >= threshold
        pause = pause or over
        relation = "at or above" if over else "under"
        reasons.append(
            f"{name} {rate:.2%} ({count:,} of {rates.sent:,} sample emails) is {relation} the pause "
            f"threshold {threshold:.2%}"
        )
    return Decision(pause=pause, reasons=reasons)


def sample_rank(campaign_id: str, contact_key: str) -> bytes:
    """A contact's place in the campaign's random order: the same on every run (a retried step picks
    the same sample), different for every campaign."""
    return hashlib.sha256(f"{campaign_id}\x00{contact_key}".encode()).digest()


class BottomK:
    """The ``k`` contacts of smallest rank among all it is shown: a uniform random sample of the
    never-mailed contacts, kept in O(k) memory however many stream by."""

    def __init__(self, campaign_id: str, k: int) -> None:
        self._campaign_id = campaign_id
        self._k = k
        # A max-heap by rank (ranks negated bytewise through the inverted digest).
        self._heap: list[tuple[bytes, str, str]] = []

    def offer(self, contact_key: str, email: str) -> None:
        inverted = bytes(255 - b for b in sample_rank(self._campaign_id, contact_key))
        entry = (inverted, contact_key, email)
        if len(self._heap) < self._k:
            heapq.heappush(self._heap, entry)
        elif inverted > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """(contact key, email) of the sample, in key order."""
        return iter(sorted((key, email) for _, key, email in self._heap))

    def __len__(self) -> int:
        return len(self._heap)
