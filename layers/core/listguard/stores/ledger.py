"""The send ledger (``LEDGER#<account>#<campaign>`` / ``SEND#<email key>``): every send, before SES.

A contact gets a campaign at most once. Before SES is called, one transaction

- writes the contact's ledger entry, only if it does not exist yet (``attribute_not_exists``), and
- stamps the contact ``last_mailed_at``, only if it is sendable right now (flag ``none``, subscribed),
  bumping its revision so that a writer racing on it decides again.

So two senders racing on one contact write one entry: the other finds it and sends nothing; a flagged
or blocklisted contact is never claimed, whatever changed since it was read. Only the attempt whose
token is on the entry may send for it. After SES answers the entry says ``sent`` (with the message
id); an error from SES, or no answer, leaves it ``unknown`` and it is never sent again: listguard cannot
tell whether such an email went out, and a second email is the one thing it must never cause.

The same partition holds the campaign's sample (``SAMPLE#<email key>``), chosen before anything is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from listguard.aws import NO_ANSWER_ERRORS
from listguard.domain import keys
from listguard.domain.models import SendRecord
from listguard.domain.vocabulary import FlagStatus, SendPhase, SendState, SubscriptionStatus
from listguard.stores.campaigns import campaign_key
from listguard.stores.dynamo import ConditionFailedError, Item, Table, serialize
from listguard.stores.paging import Page, query_page

#: A claim that keeps meeting another transaction on the same items is given up after this many tries.
MAX_CLAIM_ATTEMPTS = 5


class Claim(StrEnum):
    #: This attempt wrote the entry: it sends, once.
    CLAIMED = "claimed"
    #: The contact has an entry already (sent, being sent, or unknown): nothing is sent.
    TAKEN = "taken"
    #: The contact is flagged, blocklisted or gone: nothing is sent, nothing is written.
    NOT_SENDABLE = "not_sendable"


class Feedback(StrEnum):
    """What SES said about one email, as the ledger records it."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"


#: Feedback -> (the ledger's field, the campaign's counter, the sample's counter).
_FEEDBACK_FIELDS = {
    Feedback.HARD_BOUNCE: ("hard_bounced_at", "hard_bounces", "sample_hard_bounces"),
    Feedback.COMPLAINT: ("complained_at", "complaints", "sample_complaints"),
    Feedback.SOFT_BOUNCE: ("soft_bounce_ids", "soft_bounces", "sample_soft_bounces"),
}


@dataclass(frozen=True)
class LedgerCounts:
    """A campaign's ledger, counted: by state, and sent by phase."""

    by_state: dict[str, int]
    sent_by_phase: dict[str, int]

    @property
    def sent(self) -> int:
        return self.by_state.get(SendState.SENT, 0)

    @property
    def unknown(self) -> int:
        """Claimed without a confirmed send: SES erred, its answer was lost, or the sender stopped."""
        return self.by_state.get(SendState.UNKNOWN, 0) + self.by_state.get(SendState.CLAIMED, 0)

    @property
    def taken(self) -> int:
        """The emails SES most likely took, for a sample's rates: the confirmed ones and, once SES has
        confirmed any, those whose answer was lost (the request reached SES; counting them keeps the
        rates of a run with a lost answer those of a run without). With none confirmed, none: nothing
        is known of what went out."""
        return self.sent + self.unknown if self.sent else 0

    @property
    def entries(self) -> int:
        return sum(self.by_state.values())


class SendLedger:
    def __init__(self, table: Table, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table
        self._sleep = sleep

    # -- the claim: before SES --------------------------------------------------------------------------

    def claim(
        self,
        account: str,
        campaign_id: str,
        *,
        contact_key: str,
        email: str,
        phase: SendPhase,
        attempt: str,
        now: str,
    ) -> Claim:
        """Claim one contact for this attempt (see the module doc). Raises on AWS errors it cannot
        resolve: then nothing was sent, and whether the entry exists says what a retry may do."""
        entry: Item = {
            **_entry_key(account, campaign_id, contact_key),
            "type": "send",
            "account": account,
            "campaign_id": campaign_id,
            "email": email,
            "email_key": contact_key,
            "phase": str(phase),
            "state": str(SendState.CLAIMED),
            "claimed_at": now,
            "claim": attempt,
        }
        request = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": serialize(_contact_key(account, contact_key)),
                    "UpdateExpression": "SET last_mailed_at = :now, last_campaign_id = :campaign "
                    "ADD #rev :one",
                    "ConditionExpression": "attribute_exists(pk) AND flag_status = :none "
                    "AND #sub = :subscribed",
                    "ExpressionAttributeNames": {"#rev": "rev", "#sub": "subscription_status"},
                    "ExpressionAttributeValues": serialize(
                        {
                            ":now": now,
                            ":campaign": campaign_id,
                            ":one": 1,
                            ":none": str(FlagStatus.NONE),
                            ":subscribed": str(SubscriptionStatus.SUBSCRIBED),
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": serialize(entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        # DynamoDB makes a transaction idempotent per token for ten minutes: a retry after a lost answer
        # succeeds without writing twice.
        token = hashlib.sha256(f"{attempt}\x00{campaign_id}\x00{contact_key}".encode()).hexdigest()[:36]
        for attempt_number in range(1, MAX_CLAIM_ATTEMPTS + 1):
            try:
                self._table.client.transact_write_items(TransactItems=request, ClientRequestToken=token)
                return Claim.CLAIMED
            except ClientError as error:
                if error.response["Error"]["Code"] == "TransactionCanceledException":
                    reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                    # Not sendable first: even our own entry (a lost answer) is not sent for any more.
                    if reasons[:1] == ["ConditionalCheckFailed"]:
                        return Claim.NOT_SENDABLE
                    if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
                        return self._whose(account, campaign_id, contact_key, attempt)
                    if "TransactionConflict" not in reasons or attempt_number == MAX_CLAIM_ATTEMPTS:
                        raise
                    # Another transaction (a racing sender, an import) holds one of the items: try again.
                    self._sleep(0.02 * attempt_number)
                    continue
                # Any other error: the answer may have been lost after the write. The entry says.
                found = self._whose_if_any(account, campaign_id, contact_key, attempt)
                if found is not None:
                    return found
                if attempt_number == MAX_CLAIM_ATTEMPTS:
                    raise
            except NO_ANSWER_ERRORS:
                # No answer at all: the claim may have landed (then it is this attempt's, and only this
                # attempt may send for it: a retried step is a new attempt, which would find it taken).
                found = self._whose_if_any(account, campaign_id, contact_key, attempt)
                if found is not None:
                    return found
                if attempt_number == MAX_CLAIM_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _whose(self, account: str, campaign_id: str, contact_key: str, attempt: str) -> Claim:
        found = self._whose_if_any(account, campaign_id, contact_key, attempt)
        return found if found is not None else Claim.TAKEN

    def _whose_if_any(self, account: str, campaign_id: str, contact_key: str, attempt: str) -> Claim | None:
        record = self.get(account, campaign_id, contact_key)
        if record is None:
            return None
        # Our own entry, written by a call whose answer was lost, that this attempt never sent for.
        mine = record.claim == attempt and record.state is SendState.CLAIMED
        return Claim.CLAIMED if mine else Claim.TAKEN

    def release(self, account: str, campaign_id: str, contact_key: str, *, attempt: str) -> bool:
        """SES refused the email (it answered with an error: nothing went out): the entry this attempt
        claimed is removed, so that a retry claims and sends it. False if it is not this attempt's
        unsent claim any more (then it stays, and nothing is sent for it again)."""
        try:
            self._table.delete(
                _entry_key(account, campaign_id, contact_key),
                condition="#claim = :attempt AND #state = :claimed",
                names={"#claim": "claim", "#state": "state"},
                values={":attempt": attempt, ":claimed": str(SendState.CLAIMED)},
            )
        except ConditionFailedError:
            return False
        return True

    # -- after SES --------------------------------------------------------------------------------------

    def mark_sent(
        self, account: str, campaign_id: str, contact_key: str, *, message_id: str, now: str
    ) -> None:
        """SES accepted the email. Idempotent (a retry writes the same)."""
        self._table.update(
            _entry_key(account, campaign_id, contact_key),
            update="SET #state = :sent, message_id = :id, sent_at = if_not_exists(sent_at, :now)",
            condition="attribute_exists(pk)",
            names={"#state": "state"},
            values={":sent": str(SendState.SENT), ":id": message_id, ":now": now},
        )

    def mark_unknown(self, account: str, campaign_id: str, contact_key: str, *, error: str) -> None:
        """SES erred or did not answer: the email may have gone out; it is never sent again. A bounce
        that already proved the send (``sent``) is kept."""
        with contextlib.suppress(ConditionFailedError):  # sent, proven by a bounce meanwhile
            self._table.update(
                _entry_key(account, campaign_id, contact_key),
                update="SET #state = :unknown, #error = :error",
                condition="#state = :claimed",
                names={"#state": "state", "#error": "error"},
                values={
                    ":unknown": str(SendState.UNKNOWN),
                    ":claimed": str(SendState.CLAIMED),
                    ":error": error,
                },
            )

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, account: str, campaign_id: str, contact_key: str) -> SendRecord | None:
        item = self._table.get(_entry_key(account, campaign_id, contact_key))
        return SendRecord.model_validate(item) if item else None

    def existing(self, account: str, campaign_id: str, contact_keys: Iterable[str]) -> set[str]:
        """Which of these contacts have an entry (strongly consistent)."""
        found = self._table.batch_get(
            [_entry_key(account, campaign_id, key) for key in contact_keys], projection=("pk", "sk")
        )
        return {keys.contact_key_of_ledger_sk(item["sk"]) for item in found}

    def records(
        self, account: str, campaign_id: str, *, state: SendState | None = None
    ) -> Iterator[SendRecord]:
        """The campaign's entries, in email-key order."""
        names = {"#state": "state"} if state else None
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {
                ":pk": keys.ledger_pk(account, campaign_id),
                ":prefix": keys.SEND_SK_PREFIX,
                **({":state": str(state)} if state else {}),
            },
            names=names,
            filter_expression="#state = :state" if state else None,
            consistent=True,
        ):
            yield SendRecord.model_validate(item)

    def counts(self, account: str, campaign_id: str, *, phase: SendPhase | None = None) -> LedgerCounts:
        """Every entry counted (one read of the ledger: about 0.5 read units per 100 entries)."""
        by_state: Counter[str] = Counter()
        sent_by_phase: Counter[str] = Counter()
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.ledger_pk(account, campaign_id), ":prefix": keys.SEND_SK_PREFIX},
            projection=("state", "phase"),
            consistent=True,
        ):
            if phase is not None and item.get("phase") != phase:
                continue
            by_state[item["state"]] += 1
            if item["state"] == SendState.SENT:
                sent_by_phase[item["phase"]] += 1
        return LedgerCounts(dict(by_state), dict(sent_by_phase))

    # -- the sample -------------------------------------------------------------------------------------

    def put_sample(self, account: str, campaign_id: str, contacts: Iterable[tuple[str, str]]) -> int:
        """Store the sample (contact key, email). Idempotent: the same sample writes the same items."""
        count = 0
        for contact_key, email in contacts:
            self._table.put(
                {
                    "pk": keys.ledger_pk(account, campaign_id),
                    "sk": keys.sample_sk(contact_key),
                    "type": "sample",
                    "email": email,
                    "email_key": contact_key,
                }
            )
            count += 1
        return count

    def sample_page(self, account: str, campaign_id: str, *, after: str | None, limit: int) -> Page:
        """One page of the sample, in key order, after the contact key ``after``."""
        return query_page(
            self._table,
            pk=keys.ledger_pk(account, campaign_id),
            sk_prefix=keys.SAMPLE_SK_PREFIX,
            after_sk=keys.sample_sk(after) if after is not None else None,
            limit=limit,
        )

    # -- feedback ---------------------------------------------------------------------------------------

    def record_feedback(
        self,
        account: str,
        campaign_id: str,
        contact_key: str,
        *,
        feedback: Feedback,
        feedback_id: str,
        at: str,
        sample: bool,
    ) -> bool:
        """Record one piece of SES feedback on its entry and count it on the campaign, in one
        transaction that holds only the first time: a redelivered notification counts nothing twice.
        A bounce or a complaint proves the email went out: the entry is ``sent``. False when it was
        recorded already (or there is no such entry)."""
        field, counter, sample_counter = _FEEDBACK_FIELDS[feedback]
        values: dict[str, Any] = {":at": at, ":sent": str(SendState.SENT)}
        if feedback is Feedback.SOFT_BOUNCE:
            entry_update = "SET #state = :sent ADD #field :ids"
            entry_condition = "attribute_exists(pk) AND NOT contains(#field, :id)"
            values |= {":ids": {feedback_id}, ":id": feedback_id}
            values.pop(":at")
        else:
            entry_update = "SET #field = :at, #state = :sent"
            entry_condition = "attribute_exists(pk) AND attribute_not_exists(#field)"
        counters = [counter, *([sample_counter] if sample else [])]
        request = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": serialize(_entry_key(account, campaign_id, contact_key)),
                    "UpdateExpression": entry_update,
                    "ConditionExpression": entry_condition,
                    "ExpressionAttributeNames": {"#field": field, "#state": "state"},
                    "ExpressionAttributeValues": serialize(values),
                }
            },
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": serialize(campaign_key(account, campaign_id)),
                    "UpdateExpression": "ADD " + ", ".join(f"#c{i} :one" for i in range(len(counters))),
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {f"#c{i}": name for i, name in enumerate(counters)},
                    "ExpressionAttributeValues": serialize({":one": 1}),
                }
            },
        ]
        token = hashlib.sha256(f"{campaign_id}\x00{contact_key}\x00{feedback}\x00{feedback_id}".encode())
        for attempt_number in range(1, MAX_CLAIM_ATTEMPTS + 1):
            try:
                self._table.client.transact_write_items(
                    TransactItems=request, ClientRequestToken=token.hexdigest()[:36]
                )
                return True
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                if "TransactionConflict" not in reasons:
                    return False  # recorded already, or no such entry
                if attempt_number == MAX_CLAIM_ATTEMPTS:
                    raise  # the notification is delivered again (Lambda retries)
                self._sleep(0.02 * attempt_number)
        raise AssertionError("unreachable")


def _entry_key(account: str, campaign_id: str, contact_key: str) -> dict[str, str]:
    return {"pk": keys.ledger_pk(account, campaign_id), "sk": keys.send_sk(contact_key)}


def _contact_key(account: str, contact_key: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.contact_sk(contact_key)}
