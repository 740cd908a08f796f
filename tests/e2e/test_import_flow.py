"""Whole flow on the local cloud: an upload to S3 triggers import_check, contacts land flagged in DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from listguard.domain import FlagStatus
from listguard.domain.keys import import_object_key, parse_import_key
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


def test_a_bought_list_uploaded_to_s3_lands_declined_in_dynamodb(local_cloud: LocalCloud) -> None:
    # Given the deployed stack and a dirty list of 1,200 contacts for an empty account (check required)
    bucket = local_cloud.outputs["ImportsBucketName"]
    body = contact_list(1_200, mix=BOUGHT, seed=3)
    key = import_object_key(ACCOUNT, LEADS)

    # When the customer uploads it under imports/<account>/<file>
    local_cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    # Then the S3 event ran the check: the summary says declined and names its rule
    summary = _summary(local_cloud, key)
    assert summary["import_id"] == "leads 2026+ü"
    assert summary["verification_required"] is True
    assert summary["outcome"] == "declined"
    assert summary["reasons"][0]["rule"] == "predicted_bounce_rate"
    assert summary["rows"] == 1_200
    # And the importable contacts are in the table, flagged declined; unusable rows were not imported
    contacts = Stack(local_cloud).contacts
    unusable = sum(summary["verdicts"][v] for v in ("invalid_syntax", "malformed_row", "duplicate"))
    assert unusable > 0
    assert contacts.count_by_flag(ACCOUNT, FlagStatus.DECLINED) == 1_200 - unusable
    assert contacts.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 0
    # And the per-row report is next to the summary, one line per data row
    rows_key = parse_import_key(key).rows_report_key
    rows = local_cloud.client("s3").get_object(Bucket=bucket, Key=rows_key)
    assert len(rows["Body"].read().decode().splitlines()) == 1_200 + 1


def test_a_clean_list_is_validated_and_a_replayed_upload_changes_nothing(local_cloud: LocalCloud) -> None:
    # Given a clean list of 1,100 contacts uploaded once and validated
    bucket = local_cloud.outputs["ImportsBucketName"]
    body = contact_list(1_100, mix=CLEAN, seed=4)
    key = import_object_key(ACCOUNT, "clean.csv")
    s3, stack = local_cloud.client("s3"), Stack(local_cloud)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    first = _summary(local_cloud, key)
    assert first["outcome"] == "validated"
    sendable = list(stack.contacts.list(ACCOUNT, flag=FlagStatus.NONE))
    assert len(sendable) > 1_000
    record = stack.imports.get(ACCOUNT, "clean")
    contact = stack.contacts.get(ACCOUNT, sendable[0].email)

    # When the very same file is delivered again (same content, same ETag: a replayed event)
    s3.put_object(Bucket=bucket, Key=key, Body=body)

    # Then nothing ran again: the import record and a contact are exactly as the first run left them
    assert stack.imports.get(ACCOUNT, "clean") == record
    assert stack.contacts.get(ACCOUNT, sendable[0].email) == contact
    # And the summary and the counts are the same
    assert _summary(local_cloud, key) == first
    assert stack.contacts.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 0
