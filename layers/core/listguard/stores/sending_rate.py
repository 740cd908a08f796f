"""The SES sending rate, shared by every sender of the stack (``SENDING_RATE`` / ``SES``).

SES's quota is per account and region, not per campaign: two campaigns sending at once, or a requeue
racing a campaign, must share it. One item counts the emails of the current second; a sender takes
permits with a conditional update before it calls SES, and waits for the next second when the current
one is full. Permits taken and not used (a contact found unsendable meanwhile) are simply lost: the
rate can only be undershot. One update per batch of permits, not per email.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from listguard.domain import keys
from listguard.stores.dynamo import ConditionFailedError, Table


class SendingRate:
    def __init__(
        self,
        table: Table,
        per_second: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second < 1:
            raise ValueError("the sending rate is at least 1 email per second")
        self._table = table
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep

    def take(self, wanted: int) -> int:
        """Block until between 1 and ``wanted`` permits are free in the current second; return how many
        were taken (the caller sends that many emails, then asks again)."""
        if wanted < 1:
            return 0
        while True:
            now = self._clock()
            second = int(now)
            grant = min(wanted, self.per_second)
            try:
                # A new second: the first sender to arrive resets the count.
                self._table.update(
                    keys.SENDING_RATE_KEY,
                    update="SET #second = :second, #sent = :grant",
                    condition="attribute_not_exists(#second) OR #second < :second",
                    names={"#second": "second", "#sent": "sent"},
                    values={":second": second, ":grant": grant},
                )
                return grant
            except ConditionFailedError as taken:
                current = taken.current or {}
            if int(current.get("second", 0)) == second:
                room = self.per_second - int(current.get("sent", 0))
                if room > 0:
                    grant = min(grant, room)
                    try:
                        self._table.update(
                            keys.SENDING_RATE_KEY,
                            update="SET #sent = #sent + :grant",
                            condition="#second = :second AND #sent <= :most",
                            names={"#second": "second", "#sent": "sent"},
                            values={":second": second, ":grant": grant, ":most": self.per_second - grant},
                        )
                        return grant
                    except ConditionFailedError:
                        continue  # another sender took some meanwhile: look again
            # This second is full (or another sender's clock is ahead): wait for the next one.
            self._sleep(max(0.0, second + 1 - now) + 0.001)
