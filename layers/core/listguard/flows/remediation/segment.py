"""Step 1, the segment: the account's contacts flagged ``declined`` AND ``subscribed``, as they are now.

One invocation reads one chunk: query pages of the sparse flag index (never a table scan) until the
chunk is full or the segment ends, then writes the chunk to the exports bucket (gzip JSON lines: each
contact whole, its revision included) and records it with the cursor where the next chunk begins. The
state machine loops until the segment ends. The chunks are the snapshot that the export is written
from and that the delete works through: what was exported is exactly what is deleted.
"""

from __future__ import annotations

from typing import Any

from listguard.domain import keys
from listguard.domain.remediation import RemediationStatus, SegmentChunk
from listguard.flows.remediation.errors import RemediationError
from listguard.flows.remediation.objects import put_jsonl_gz
from listguard.flows.remediation.record import StepRef, current
from listguard.flows.remediation.services import Services
from listguard.stores.remediations import declined_segment_page

#: Item fields that are the contact's keys or bookkeeping of the table, not the contact's data.
NOT_CONTACT_FIELDS = frozenset({"pk", "sk", "type", "account", "email", "email_key", "attributes"})
#: A chunk stops after reading this many times its size of index entries (blocklisted contacts are in
#: the index and filtered out): one invocation stays short even when most of the index is filtered.
MAX_READ_PER_CHUNK = 4


def segment(services: Services, ref: StepRef, *, writer: str) -> dict[str, Any]:
    """Read the next chunk of the segment; ``more``: the state machine calls again."""
    record = current(services, ref)
    if record.status is not RemediationStatus.SEGMENTING:
        if record.status is RemediationStatus.STARTED:
            raise RemediationError(f"remediation {record.remediation_id} has not begun")
        return {"more": False, "count": record.count or 0}  # segmented already: a replay
    previous = services.remediations.raw(ref.remediation_id, "segment_cursor").get("segment_cursor")
    index = len(record.segment_chunks)
    if index and previous is None:
        raise RemediationError(f"remediation {record.remediation_id} lost its place in the segment")
    contacts: list[dict[str, Any]] = []
    cursor, read = previous, 0
    while len(contacts) < services.chunk_contacts and read < MAX_READ_PER_CHUNK * services.chunk_contacts:
        limit = min(services.page_size, services.chunk_contacts - len(contacts))
        page, cursor = declined_segment_page(services.table, record.account, cursor=cursor, limit=limit)
        contacts.extend(page)
        read += limit
        if cursor is None:
            break
    chunk = None
    if contacts:
        key = keys.segment_chunk_key(record.account, record.remediation_id, index, writer)
        put_jsonl_gz(services.s3, services.snapshot_bucket, key, contacts)
        chunk = SegmentChunk(
            key=key,
            contacts=len(contacts),
            attributes=_attribute_names(contacts),
            fields=_field_names(contacts),
        )
    count = sum(c.contacts for c in record.segment_chunks) + len(contacts)
    services.remediations.record_segment_chunk(
        ref.remediation_id,
        attempt=ref.attempt,
        index=index,
        chunk=chunk,
        previous_cursor=previous,
        cursor=cursor,
        count=count,
        now=services.now(),
    )
    # Recorded by this invocation or by another one that read the same pages: the record says.
    record = current(services, ref)
    return {"more": record.status is RemediationStatus.SEGMENTING, "count": record.count or 0}


def _attribute_names(contacts: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for contact in contacts:
        names.update(dict.fromkeys(contact.get("attributes") or {}))
    return list(names)


def _field_names(contacts: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for contact in contacts:
        names.update(dict.fromkeys(name for name in contact if name not in NOT_CONTACT_FIELDS))
    return list(names)
