"""The deliverability check's rules: when to sample, which contacts, and pause or continue (no AWS)."""

from __future__ import annotations

import pytest

from listguard.domain.deliverability import (
    BottomK,
    DeliverabilityPolicy,
    NoSampleSentError,
    SampleRates,
    decide,
    sample_rank,
)

THRESHOLDS = {"hard_bounce_rate_to_pause": 0.05, "complaint_rate_to_pause": 0.001}


def test_the_published_defaults() -> None:
    policy = DeliverabilityPolicy()
    assert (policy.hard_bounce_rate_to_pause, policy.complaint_rate_to_pause) == (0.05, 0.001)
    assert (policy.sample_size, policy.sample_min_new_contacts) == (500, 2_000)
    assert policy.send_rate_per_second == 14


def test_every_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTGUARD_SAMPLE_SIZE", "50")
    monkeypatch.setenv("LISTGUARD_HARD_BOUNCE_RATE_TO_PAUSE", "0.02")
    policy = DeliverabilityPolicy()
    assert (policy.sample_size, policy.hard_bounce_rate_to_pause) == (50, 0.02)


@pytest.mark.parametrize(
    ("new_contacts", "samples"),
    [(0, False), (1_999, False), (2_000, True), (1_000_000, True)],
)
def test_a_campaign_samples_from_the_minimum_of_never_mailed_contacts(
    new_contacts: int, samples: bool
) -> None:
    assert DeliverabilityPolicy().samples(new_contacts) is samples


def test_a_sample_as_big_as_the_new_contacts_is_no_sample() -> None:
    policy = DeliverabilityPolicy(sample_size=100, sample_min_new_contacts=50)
    assert not policy.samples(100)
    assert policy.samples(101)


@pytest.mark.parametrize(
    ("hard_bounces", "complaints", "pause"),
    [
        (0, 0, False),
        (49, 0, False),  # 4.9% < 5%
        (50, 0, True),  # exactly 5%: at the threshold pauses
        (51, 0, True),
        (0, 1, True),  # 0.1% of 1,000: at the threshold
        (49, 1, True),
    ],
)
def test_the_decision_at_the_thresholds(hard_bounces: int, complaints: int, pause: bool) -> None:
    # Given a sample of 1,000 sent emails and what came back
    rates = SampleRates(sent=1_000, hard_bounces=hard_bounces, complaints=complaints)

    # When the window ends
    decision = decide(rates, **THRESHOLDS)

    # Then at or above either threshold the campaign pauses; under both it continues
    assert decision.pause is pause
    assert decision.label == ("pause" if pause else "continue")
    assert len(decision.reasons) == 2
    assert all("threshold" in reason and "@" not in reason for reason in decision.reasons)


def test_the_reasons_name_the_measure_its_value_and_the_threshold() -> None:
    decision = decide(SampleRates(sent=200, hard_bounces=21, complaints=1), **THRESHOLDS)
    assert decision.reasons == [
        "hard bounce rate 10.50% (21 of 200 sample emails) is at or above the pause threshold 5.00%",
        "complaint rate 0.50% (1 of 200 sample emails) is at or above the pause threshold 0.10%",
    ]


def test_nothing_to_decide_on_when_no_sample_email_was_confirmed_sent() -> None:
    with pytest.raises(NoSampleSentError, match="no email of the sample"):
        decide(SampleRates(sent=0, hard_bounces=0, complaints=0), **THRESHOLDS)


def test_the_sample_is_k_contacts_in_a_random_order_that_is_the_same_on_every_run() -> None:
    keys = [f"person{i}@example.com" for i in range(2_000)]

    first, again, reversed_order = BottomK("c-1", 50), BottomK("c-1", 50), BottomK("c-1", 50)
    for key in keys:
        first.offer(key, key)
        again.offer(key, key)
    for key in reversed(keys):
        reversed_order.offer(key, key)

    assert len(first) == 50
    # A retried step (or the contacts read in another order) chooses the same sample
    assert list(first) == list(again) == list(reversed_order)
    # It is the 50 smallest ranks, not the first 50 keys
    chosen = {key for key, _ in first}
    assert chosen == set(sorted(keys, key=lambda key: sample_rank("c-1", key))[:50])
    assert chosen != set(sorted(keys)[:50])


def test_every_campaign_draws_its_own_sample() -> None:
    keys = [f"person{i}@example.com" for i in range(1_000)]
    samples = []
    for campaign_id in ("c-1", "c-2"):
        sample = BottomK(campaign_id, 100)
        for key in keys:
            sample.offer(key, key)
        samples.append({key for key, _ in sample})
    assert samples[0] != samples[1]
    # About a tenth of one sample is in the other (independent draws of 100 from 1,000)
    assert len(samples[0] & samples[1]) < 40


def test_the_sample_is_uniform_over_the_new_contacts() -> None:
    # Given contacts in ten blocks of keys, chosen by 200 campaigns
    keys = [f"block{block}-person{i}@example.com" for block in range(10) for i in range(100)]
    counts = dict.fromkeys(range(10), 0)
    for campaign in range(200):
        sample = BottomK(f"c-{campaign}", 50)
        for key in keys:
            sample.offer(key, key)
        for key, _ in sample:
            counts[int(key.split("-")[0].removeprefix("block"))] += 1
    # Then every block gets its share (1,000 each; a binomial's spread is about 30)
    assert all(850 < count < 1_150 for count in counts.values()), counts
