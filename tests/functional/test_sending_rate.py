"""The SES sending rate, shared by every sender of the stack, on moto (with a clock the test moves)."""

from __future__ import annotations

from functional_cloud import Cloud

from listguard.stores.sending_rate import SendingRate


class Clock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_one_second_holds_at_most_the_rate_across_every_sender(cloud: Cloud) -> None:
    # Given two senders (two campaigns, or a requeue beside a campaign) sharing 14 emails a second
    clock = Clock()
    first, second = (SendingRate(cloud.table, 14, clock=clock, sleep=clock.sleep) for _ in range(2))

    # When they ask for permits within one second
    taken = [first.take(10), second.take(10)]

    # Then the second gets what is left of the second, and nobody waited
    assert taken == [10, 4]
    assert clock.slept == []

    # And the next ask waits for the next second, then gets its permits
    assert first.take(20) == 14
    assert len(clock.slept) == 1 and int(clock.now) == 1_001


def test_a_sender_never_takes_more_than_a_second_holds(cloud: Cloud) -> None:
    clock = Clock()
    rate = SendingRate(cloud.table, 5, clock=clock, sleep=clock.sleep)

    granted = [rate.take(100) for _ in range(4)]

    # Then 5 a second: 20 emails over four seconds
    assert granted == [5, 5, 5, 5]
    assert int(clock.now) == 1_003


def test_a_new_second_starts_the_count_again(cloud: Cloud) -> None:
    clock = Clock()
    rate = SendingRate(cloud.table, 3, clock=clock, sleep=clock.sleep)
    assert rate.take(3) == 3
    clock.now += 1.5
    assert rate.take(3) == 3
    assert clock.slept == []
