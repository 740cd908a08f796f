"""Sending a campaign to recipients: the gate and the ledger first, the shared rate, then SES.

For each recipient, in this order:

1. its ledger entry is claimed (``SendLedger.claim``): one transaction that writes the entry only if
   none exists and only while the contact is sendable. Not claimed: nothing is sent;
2. SES v2 ``SendEmail`` is called once, by a client that never retries on its own (a retry could send
   a second email when the first one's answer was lost);
3. its answer is recorded: ``sent`` with the message id; no answer at all is ``unknown``: the email
   may have gone out, so it is never sent again, and so is a server error (5xx) or a refusal of this
   email (``MessageRejected``: no retry would change it). Throttling means nothing went out: the
   claim is released and the error raised, and the invocation's retry sends it.

Permits of the shared SES rate are taken before the claims of each batch. A crash between 1 and 3
leaves the entry ``claimed``, which nobody sends for again either (it is counted with the unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from listguard.domain.models import Campaign
from listguard.domain.vocabulary import SendPhase
from listguard.flows.campaigns.content import send_email_request
from listguard.stores.ledger import Claim, SendLedger
from listguard.stores.sending_rate import SendingRate

logger = Logger(child=True)

#: Recording ``sent`` is tried this many times: SES took the email, only the record is missing.
MARK_SENT_ATTEMPTS = 3


@dataclass
class SendTally:
    sent: int = 0
    #: SES erred or did not answer: maybe sent, never again.
    unknown: int = 0
    #: Another send (a retry, a racing sender) has the contact's entry already.
    taken: int = 0
    #: Flagged, blocklisted or gone when its turn came: never claimed, never mailed.
    not_sendable: int = 0

    def add(self, other: SendTally) -> None:
        self.sent += other.sent
        self.unknown += other.unknown
        self.taken += other.taken
        self.not_sendable += other.not_sendable

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "unknown": self.unknown,
            "taken": self.taken,
            "not_sendable": self.not_sendable,
        }


#: SES's answers that it is too busy to take the request now: nothing went out, and later it will.
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "LimitExceededException"}
)


def throttled(error: ClientError) -> bool:
    """SES answered that it did not take the request for now (throttled): nothing went out, and a retry
    will send it. Any other error (a 5xx: it may have gone out; a refusal of this email, such as
    ``MessageRejected``, which no retry would change) leaves the entry ``unknown``."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.response.get("Error", {}).get("Code") in THROTTLING_CODES or status == 429


class Sender:
    def __init__(
        self,
        *,
        ledger: SendLedger,
        rate: SendingRate,
        sesv2: Any,
        configuration_set: str | None,
        clock: Callable[[], str],
    ) -> None:
        self._ledger = ledger
        self._rate = rate
        self._sesv2 = sesv2
        self._configuration_set = configuration_set
        self._clock = clock

    def send(
        self,
        campaign: Campaign,
        recipients: Sequence[tuple[str, str]],
        *,
        phase: SendPhase,
        attempt: str,
    ) -> SendTally:
        """Send to each (contact key, email) at most once. ``attempt`` is unique to this invocation:
        only entries it claimed are sent for."""
        tally = SendTally()
        queue = list(recipients)
        while queue:
            granted = self._rate.take(len(queue))
            batch, queue = queue[:granted], queue[granted:]
            for contact_key, email in batch:
                self._send_one(campaign, contact_key, email, phase=phase, attempt=attempt, tally=tally)
        return tally

    def _send_one(
        self,
        campaign: Campaign,
        contact_key: str,
        email: str,
        *,
        phase: SendPhase,
        attempt: str,
        tally: SendTally,
    ) -> None:
        # Built before the claim: a message that cannot be built must not leave a claimed entry behind.
        request = send_email_request(campaign, email, configuration_set=self._configuration_set)
        claim = self._ledger.claim(
            campaign.account,
            campaign.campaign_id,
            contact_key=contact_key,
            email=email,
            phase=phase,
            attempt=attempt,
            now=self._clock(),
        )
        if claim is Claim.TAKEN:
            tally.taken += 1
            return
        if claim is Claim.NOT_SENDABLE:
            tally.not_sendable += 1
            return
        try:
            response = self._sesv2.send_email(**request)
        except ClientError as error:
            if not throttled(error):  # may have gone out (5xx), or refused for good: never again
                self._ledger.mark_unknown(
                    campaign.account, campaign.campaign_id, contact_key, error=error.response["Error"]["Code"]
                )
                tally.unknown += 1
                logger.warning(
                    "SES did not take a send; it is never sent again",
                    extra={"campaign_id": campaign.campaign_id, "error": error.response["Error"]["Code"]},
                )
                return
            # SES is throttling: nothing went out. The claim is given back and the invocation fails: its
            # retry (the state machine's, the next requeue run) claims and sends again, from the same
            # page; throttling that lasts fails the campaign, which says why.
            released = self._ledger.release(
                campaign.account, campaign.campaign_id, contact_key, attempt=attempt
            )
            logger.warning(
                "SES throttled a send; it is sent again by the retry",
                extra={
                    "campaign_id": campaign.campaign_id,
                    "error": error.response["Error"]["Code"],
                    "released": released,
                },
            )
            raise
        except Exception as error:  # no answer at all: it may have gone out
            code = type(error).__name__
            self._ledger.mark_unknown(campaign.account, campaign.campaign_id, contact_key, error=code)
            tally.unknown += 1
            logger.warning(
                "SES did not confirm a send; it is never sent again",
                extra={"campaign_id": campaign.campaign_id, "error": code},
            )
            return
        for attempt_number in range(1, MARK_SENT_ATTEMPTS + 1):
            try:
                self._ledger.mark_sent(
                    campaign.account,
                    campaign.campaign_id,
                    contact_key,
                    message_id=str(response.get("MessageId", "")),
                    now=self._clock(),
                )
                break
            except ClientError:
                if attempt_number == MARK_SENT_ATTEMPTS:
                    raise  # the entry stays claimed: never sent again, counted as unknown
        tally.sent += 1
