"""Remediation records (``REMEDIATION#<id>`` / ``REMEDIATION``) and the declined segment, page by page.

A record has its own partition: the console finds a remediation by its id alone. Every change is one
conditional update that names the statuses it moves from (``transition``) and, for the steps of an
execution, the attempt it belongs to: a replayed step, a step of an execution that a retry replaced,
or two invocations racing, change the record once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from listguard.domain import keys
from listguard.domain.remediation import DeleteTally, Remediation, RemediationStatus, SegmentChunk
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus
from listguard.stores.accounts import contact_count_change
from listguard.stores.dynamo import (
    ConditionFailedError,
    Item,
    Table,
    TransactionConflictError,
    deserialize,
    serialize,
)

#: Index keys of a contact item: not the contact's data, left out of the snapshot.
INDEX_FIELDS = frozenset({"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


class RemediationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, remediation_id: str) -> Remediation | None:
        item = self._table.get(_key(remediation_id))
        return Remediation.of(item) if item else None

    def raw(self, remediation_id: str, *fields: str) -> Item:
        """Fields the model leaves out (the task token, the segment's cursor)."""
        return self._table.get(_key(remediation_id), projection=fields) or {}

    def create(self, remediation: Remediation) -> bool:
        """False when a remediation with this id exists already (the same request, started before)."""
        item = {
            **_key(remediation.remediation_id),
            "type": "remediation",
            **remediation.model_dump(mode="json", exclude_none=True),
        }
        try:
            self._table.put(item, condition="attribute_not_exists(pk)")
        except ConditionFailedError:
            return False
        return True

    def transition(
        self,
        remediation_id: str,
        *,
        source: Iterable[RemediationStatus],
        target: RemediationStatus,
        attempt: int | None = None,
        fields: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        now: str,
        along: Sequence[Mapping[str, Any]] = (),
    ) -> bool:
        """Move the record from one of ``source`` to ``target`` (setting ``fields``); False when it is
        elsewhere, or belongs to another attempt: a replay, a race lost, or an execution replaced.
        ``along``: writes (``Table.transact`` operations) that happen with the move, or not at all."""
        fields = dict(fields or {})
        remove = list(remove)
        sources = sorted({str(status) for status in source})
        aliases = {"#status": "status", **{f"#f{i}": name for i, name in enumerate(fields)}}
        aliases |= {f"#r{i}": name for i, name in enumerate(remove)}
        aliases |= names or {}
        assignments = "".join(f", #f{i} = :f{i}" for i in range(len(fields)))
        removal = f" REMOVE {', '.join(f'#r{i}' for i in range(len(remove)))}" if remove else ""
        conditions = [f"#status IN ({', '.join(f':s{i}' for i in range(len(sources)))})"]
        extra_values: dict[str, Any] = {}
        if attempt is not None:
            aliases["#attempt"] = "attempt"
            extra_values[":attempt"] = attempt
            conditions.append("#attempt = :attempt")
        if condition:
            conditions.append(f"({condition})")
        move = {
            "update": _key(remediation_id),
            "expression": f"SET #status = :target, updated_at = :now{assignments}{removal}",
            "condition": " AND ".join(conditions),
            "names": aliases,
            "values": {
                ":target": str(target),
                ":now": now,
                **{f":s{i}": status for i, status in enumerate(sources)},
                **{f":f{i}": value for i, value in enumerate(fields.values())},
                **extra_values,
                **(values or {}),
            },
        }
        try:
            if along:
                self._table.transact([move, *along])
            else:
                self._table.update(
                    move["update"],
                    update=move["expression"],
                    condition=move["condition"],
                    names=move["names"],
                    values=move["values"],
                )
        except ConditionFailedError:
            return False
        except TransactionConflictError as error:
            if not error.condition_failed:
                raise  # held up by others through every attempt: the step fails, and its retry moves it
            return False
        return True

    def record_segment_chunk(
        self,
        remediation_id: str,
        *,
        attempt: int,
        index: int,
        chunk: SegmentChunk | None,
        previous_cursor: str | None,
        cursor: str | None,
        count: int,
        now: str,
    ) -> bool:
        """One more chunk of the segment (None: its pages held no contact), and where the next begins.

        ``cursor`` None: the segment is complete, with ``count`` contacts, and the record moves on (to
        ``exporting``, or ``nothing_to_do`` when it is empty). False when another invocation recorded
        this chunk first (the same pages: its chunk is the one kept)."""
        sets = ["updated_at = :now"]
        removes: list[str] = []
        values: dict[str, Any] = {
            ":now": now,
            ":segmenting": str(RemediationStatus.SEGMENTING),
            ":attempt": attempt,
            ":index": index,
        }
        if chunk is not None:
            sets.append("segment_chunks = list_append(segment_chunks, :chunk)")
            values[":chunk"] = [chunk.model_dump(mode="json")]
        if cursor is not None:
            sets.append("segment_cursor = :cursor")
            values[":cursor"] = cursor
        else:
            removes.append("segment_cursor")
            done = RemediationStatus.EXPORTING if count else RemediationStatus.NOTHING_TO_DO
            sets += ["#status = :done", "#count = :count"]
            values |= {":done": str(done), ":count": count}
            if not count:
                sets.append("finished_at = :now")
        if previous_cursor is None:
            where = "attribute_not_exists(segment_cursor)"
        else:
            where = "segment_cursor = :previous"
            values[":previous"] = previous_cursor
        try:
            self._table.update(
                _key(remediation_id),
                update=f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else ""),
                condition="#status = :segmenting AND #attempt = :attempt AND size(segment_chunks) = :index "
                f"AND {where}",
                names={
                    "#status": "status",
                    "#attempt": "attempt",
                    **({"#count": "count"} if cursor is None else {}),
                },
                values=values,
            )
        except ConditionFailedError:
            return False
        return True

    def record_delete_chunk(
        self,
        remediation_id: str,
        *,
        account: str,
        attempt: int,
        tally: DeleteTally,
        deleted_in_chunk: int,
        complete: bool,
        now: str,
    ) -> bool:
        """The delete went through one more chunk (``tally`` counts it in); ``complete``: the last one,
        and the record moves on to ``cleaning``. The account's contact counter loses the chunk's deleted
        contacts in the same transaction: once per chunk, however often it is tried. False when another
        invocation recorded it first."""
        fields: dict[str, Any] = {"deleted": tally.model_dump(mode="json")}
        target = RemediationStatus.CLEANING if complete else RemediationStatus.DELETING
        return self.transition(
            remediation_id,
            source={RemediationStatus.DELETING},
            target=target,
            attempt=attempt,
            fields=fields,
            condition="#deleted.next_chunk = :previous_chunk",
            names={"#deleted": "deleted"},
            values={":previous_chunk": tally.next_chunk - 1},
            now=now,
            along=[contact_count_change(account, -deleted_in_chunk)] if deleted_in_chunk else [],
        )


def _key(remediation_id: str) -> dict[str, str]:
    return {"pk": keys.remediation_pk(remediation_id), "sk": keys.REMEDIATION_SK}


def declined_segment_page(
    table: Table, account: str, *, cursor: str | None, limit: int
) -> tuple[list[Item], str | None]:
    """One page of the segment: the account's contacts flagged ``declined`` AND ``subscribed``.

    A query of the sparse flag index's ``declined`` partition (never a scan), filtered on the
    subscription: blocklisted contacts are never part of it. ``cursor`` is where the last page ended
    (DynamoDB's LastEvaluatedKey as JSON, kept in the record between invocations); None at the end.
    At most ``limit`` contacts are read (DynamoDB's Limit counts before the filter).
    """
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "FilterExpression": "#sub = :subscribed",
        "ExpressionAttributeNames": {"#sub": "subscription_status"},
        "ExpressionAttributeValues": serialize(
            {
                ":pk": keys.flag_index_pk(account, FlagStatus.DECLINED),
                ":subscribed": str(SubscriptionStatus.SUBSCRIBED),
            }
        ),
        "Limit": limit,
    }
    if cursor:
        kwargs["ExclusiveStartKey"] = json.loads(cursor)
    page = table.client.query(**kwargs)
    items = [{k: v for k, v in deserialize(raw).items() if k not in INDEX_FIELDS} for raw in page["Items"]]
    last = page.get("LastEvaluatedKey")
    return items, json.dumps(last, sort_keys=True) if last else None
