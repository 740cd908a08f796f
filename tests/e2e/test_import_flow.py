"""Whole flow on the local cloud: an upload to S3 triggers import_check; failures reach import_failed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from listguard.domain import FlagStatus, ImportStatus
from listguard.domain.keys import import_object_key, parse_import_key
from listguard.stores import ContactStore
from listguard_console.localcloud import LocalCloud
from listguard_console.sample_data import BOUGHT, CLEAN, contact_list
from listguard_console.stack import Stack

pytestmark = pytest.mark.e2e

ACCOUNT = "north-wind"
# Spaces, "+" and Unicode in the file name: S3 event keys arrive URL-encoded.
LEADS = "leads 2026+ü.csv"


def _summary(cloud: LocalCloud, key: str) -> dict[str, Any]:
    s3 = cloud.client("s3")
    body = s3.get_object(Bucket=cloud.outputs["ImportsBucketName"], Key=parse_import_key(key).summary_key)
    return dict(json.loads(body["Body"].read()))


def test_an_upload_needing_no_check_lands_sendable_with_its_reports(local_cloud: LocalCloud) -> None:
    # Given the deployed stack and a list of 600 contacts (under the check's minimum of 1,000)
    bucket = local_cloud.outputs["ImportsBucketName"]
    body = contact_list(600, mix=BOUGHT, seed=3)
    key = import_object_key(ACCOUNT, LEADS)

    # When the customer uploads it under imports/<account>/<file>
    local_cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    # Then the S3 event ran the check at once: no check required, the contacts are imported
    summary = _summary(local_cloud, key)
    assert (summary["import_id"], summary["status"]) == ("leads 2026+ü", "imported")
    assert summary["verification_required"] is False
    assert summary["rows"] == 600
    stack = Stack(local_cloud)
    unusable = sum(summary["verdicts"][v] for v in ("invalid_syntax", "malformed_row", "duplicate"))
    assert unusable > 0
    sendable = list(stack.contacts.list(ACCOUNT, flag=FlagStatus.NONE))
    assert len(sendable) == 600 - unusable
    # And the per-row report is next to the summary, one line per data row
    rows = local_cloud.client("s3").get_object(Bucket=bucket, Key=parse_import_key(key).rows_report_key)
    assert len(rows["Body"].read().decode().splitlines()) == 600 + 1


def test_a_clean_list_needing_a_check_waits_for_the_customer(local_cloud: LocalCloud) -> None:
    # Given a clean list of 1,100 new contacts (a check is required)
    key = import_object_key(ACCOUNT, "clean.csv")
    body = contact_list(1_100, mix=CLEAN, seed=4)

    # When it is uploaded
    local_cloud.client("s3").put_object(Bucket=local_cloud.outputs["ImportsBucketName"], Key=key, Body=body)

    # Then the check ran and the import state machine holds it for the customer; nothing imported yet
    stack = Stack(local_cloud)
    assert _summary(local_cloud, key)["outcome"] == "validated"
    record = stack.imports.get(ACCOUNT, "clean")
    assert record is not None and record.status in {
        ImportStatus.VERIFYING,
        ImportStatus.AWAITING_CONFIRMATION,
    }
    assert stack.contacts.count(ACCOUNT) == 0


def test_an_import_whose_every_attempt_fails_is_marked_failed_by_import_failed(
    local_cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB refusing every contact write (the real functions run in this process)
    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("sustained throttling")

    monkeypatch.setattr(ContactStore, "merge_import", throttled)
    key = import_object_key(ACCOUNT, "unlucky.csv")

    # When a file is uploaded: Lambda tries three times, then sends the event to the failures queue,
    # whose consumer (import_failed) reads it at once
    local_cloud.client("s3").put_object(
        Bucket=local_cloud.outputs["ImportsBucketName"], Key=key, Body=contact_list(50, mix=CLEAN, seed=5)
    )

    # Then the import is failed, with a reason that says what to do
    record = Stack(local_cloud).imports.get(ACCOUNT, "unlucky")
    assert record is not None
    assert record.status is ImportStatus.FAILED
    assert record.error == (
        "the check could not finish: 3 attempts failed (RuntimeError); upload the same file again to retry"
    )

    # When the throttling ends and the same file is uploaded again, Then it is checked at once
    monkeypatch.undo()
    local_cloud.client("s3").put_object(
        Bucket=local_cloud.outputs["ImportsBucketName"], Key=key, Body=contact_list(50, mix=CLEAN, seed=5)
    )
    record = Stack(local_cloud).imports.get(ACCOUNT, "unlucky")
    assert record is not None and record.status is ImportStatus.IMPORTED
