"""Stage 3 of an import: write its contacts, then make the results visible, then record the end.

The order keeps every failure safe to retry: contacts first (every write is an idempotent merge that
carries the check's final flag, so no contact is ever sendable that the check did not clear), then
the reports (so nothing half-written is visible), the flag event, and last the import record (the
commit point: a crash before it leaves the import ``received``, and the retry redoes the stage).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from listguard.domain.keys import ImportRef
from listguard.domain.models import ImportFlagged
from listguard.domain.vocabulary import ImportStatus


def summary_document(ref: ImportRef, status: ImportStatus, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON summary next to the row report: the import, its status, then the check's fields."""
    return {
        "account": ref.account,
        "import_id": ref.import_id,
        "status": str(status),
        "source_key": ref.source_key,
        **fields,
    }


def put_json(s3: Any, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, ensure_ascii=False, indent=2).encode(),
        ContentType="application/json",
    )


def publish_reports(
    s3: Any, bucket: str, ref: ImportRef, rows_path: Path, summary: Mapping[str, Any]
) -> None:
    """Reports become visible only now, whole (upload_file goes multipart for big files)."""
    s3.upload_file(
        str(rows_path), bucket, ref.rows_report_key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"}
    )
    put_json(s3, bucket, ref.summary_key, summary)


def publish_rejection(s3: Any, bucket: str, ref: ImportRef, summary: Mapping[str, Any]) -> None:
    put_json(s3, bucket, ref.summary_key, summary)
    # A row report of earlier content under the same key would contradict the summary.
    s3.delete_object(Bucket=bucket, Key=ref.rows_report_key)


def publish_flag_event(sns: Any, topic_arn: str, event: ImportFlagged) -> None:
    """At least once: published before the commit point, so a crash repeats it rather than loses it."""
    sns.publish(
        TopicArn=topic_arn,
        Message=event.model_dump_json(),
        MessageAttributes=event.message_attributes(),
    )
