"""A decline recorded again (a retried step) says what counting it changed (found by the chaos sweep: the
retry said "no change", and the customer was never told the account went under review)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ReadTimeoutError
from functional_cloud import ACCOUNT, Cloud

from listguard.domain import AccountStanding
from listguard.domain.standing import StandingPolicy


def test_a_decline_recorded_twice_counts_once_and_reports_the_same_change(cloud: Cloud) -> None:
    # Given an account with one decline 10 days ago
    policy, now = StandingPolicy(), datetime.now(UTC)
    accounts = cloud.account_store
    accounts.record_decline(
        ACCOUNT, "earlier", declined_at=(now - timedelta(days=10)).isoformat(), now=now, policy=policy
    )

    # When a second decline is recorded, and recorded again a moment later (its step was retried)
    first = accounts.record_decline(ACCOUNT, "bought", declined_at=now.isoformat(), now=now, policy=policy)
    later = now + timedelta(seconds=5)
    again = accounts.record_decline(
        ACCOUNT, "bought", declined_at=later.isoformat(), now=later, policy=policy
    )

    # Then both say the account went under review, which happened once: one audit entry, the first time
    assert (first.before, first.after) == (AccountStanding.GOOD, AccountStanding.UNDER_REVIEW)
    assert (again.before, again.after, again.recent_declines) == (
        AccountStanding.GOOD,
        AccountStanding.UNDER_REVIEW,
        2,
    )
    profile = accounts.get(ACCOUNT)
    assert profile.declines["bought"] == now.isoformat()
    assert [entry.standing_after for entry in accounts.audit_trail(ACCOUNT)] == ["under_review"]


def test_a_decline_whose_write_is_sent_twice_still_reports_its_change(cloud: Cloud) -> None:
    # Given an account with one decline, and the standing's transaction answered once without the answer
    # arriving, so the SDK sends it again (DynamoDB would honour its token; moto finds it conflicting)
    policy, now = StandingPolicy(), datetime.now(UTC)
    accounts = cloud.account_store
    accounts.record_decline(
        ACCOUNT, "earlier", declined_at=(now - timedelta(days=10)).isoformat(), now=now, policy=policy
    )
    lost: list[str] = []

    def answer_lost_once(request: Any, **_: Any) -> None:
        # After moto's own before-send handler has done the request (a more specific event name would
        # run before it)
        if not lost and request.headers.get("X-Amz-Target", b"").endswith(b".TransactWriteItems"):
            lost.append(request.url)
            raise ReadTimeoutError(endpoint_url=request.url)

    cloud.dynamodb.meta.events.register_last("before-send", answer_lost_once)

    # When the second decline is recorded
    change = accounts.record_decline(ACCOUNT, "bought", declined_at=now.isoformat(), now=now, policy=policy)

    # Then it says the account went under review (so the customer is told)
    assert lost
    assert (change.before, change.after) == (AccountStanding.GOOD, AccountStanding.UNDER_REVIEW)
