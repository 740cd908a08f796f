"""Whole flow on the local cloud: an upload to S3 triggers import_check, contacts land flagged in DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from listguard.contacts import flag_gsi_pk
from listguard_console.localcloud import LocalCloud
from listguard_console.sample_data import BOUGHT, CLEAN, contact_list

pytestmark = pytest.mark.e2e

ACCOUNT = "north wind+co ü"  # spaces, "+" and Unicode: S3 event keys arrive URL-encoded


def _count(cloud: LocalCloud, flag: str) -> int:
    table = cloud.resource("dynamodb").Table(cloud.outputs["TableName"])
    response = table.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(flag_gsi_pk(ACCOUNT, flag)), Select="COUNT"
    )
    return int(response["Count"])


def _item(cloud: LocalCloud, sk: str) -> dict[str, Any]:
    table = cloud.resource("dynamodb").Table(cloud.outputs["TableName"])
    return dict(table.get_item(Key={"pk": f"ACCOUNT#{ACCOUNT}", "sk": sk}, ConsistentRead=True)["Item"])


def _a_contact_sk(cloud: LocalCloud) -> str:
    table = cloud.resource("dynamodb").Table(cloud.outputs["TableName"])
    response = table.query(
        KeyConditionExpression=Key("pk").eq(f"ACCOUNT#{ACCOUNT}") & Key("sk").begins_with("CONTACT#"), Limit=1
    )
    return str(response["Items"][0]["sk"])


def _summary(cloud: LocalCloud, import_id: str) -> dict[str, Any]:
    s3 = cloud.client("s3")
    body = s3.get_object(Bucket=cloud.outputs["ImportsBucketName"], Key=f"reports/{ACCOUNT}/{import_id}.json")
    return dict(json.loads(body["Body"].read()))


def test_a_bought_list_uploaded_to_s3_lands_declined_in_dynamodb(local_cloud: LocalCloud) -> None:
    # Given the deployed stack and a dirty list of 1,200 contacts for an empty account (check required)
    bucket = local_cloud.outputs["ImportsBucketName"]
    body = contact_list(1_200, mix=BOUGHT, seed=3)

    # When the customer uploads it under imports/<account>/<import-id>.csv
    local_cloud.client("s3").put_object(Bucket=bucket, Key=f"imports/{ACCOUNT}/leads 2026.csv", Body=body)

    # Then the S3 event ran the check: the summary says declined and names its rule
    summary = _summary(local_cloud, "leads 2026")
    assert summary["verification_required"] is True
    assert summary["outcome"] == "declined"
    assert summary["reasons"][0]["rule"] == "predicted_bounce_rate"
    assert summary["rows"] == 1_200
    # And the importable contacts are in the table, flagged declined; unusable rows were not imported
    unusable = sum(summary["verdicts"][v] for v in ("invalid_syntax", "malformed_row", "duplicate"))
    assert unusable > 0
    assert _count(local_cloud, "declined") == 1_200 - unusable
    assert _count(local_cloud, "pending") == 0
    # And the per-row report is next to the summary, one line per data row
    rows = local_cloud.client("s3").get_object(Bucket=bucket, Key=f"reports/{ACCOUNT}/leads 2026.rows.csv")
    assert len(rows["Body"].read().decode().splitlines()) == 1_200 + 1


def test_a_clean_list_is_validated_and_a_replayed_upload_changes_nothing(local_cloud: LocalCloud) -> None:
    # Given a clean list of 1,100 contacts uploaded once and validated
    bucket = local_cloud.outputs["ImportsBucketName"]
    body = contact_list(1_100, mix=CLEAN, seed=4)
    s3 = local_cloud.client("s3")
    s3.put_object(Bucket=bucket, Key=f"imports/{ACCOUNT}/clean.csv", Body=body)
    first = _summary(local_cloud, "clean")
    assert first["outcome"] == "validated"
    sendable = _count(local_cloud, "none")
    assert sendable > 1_000
    record, contact_sk = _item(local_cloud, "IMPORT#clean"), _a_contact_sk(local_cloud)
    contact = _item(local_cloud, contact_sk)

    # When the very same file is delivered again (same content, same ETag: a replayed event)
    s3.put_object(Bucket=bucket, Key=f"imports/{ACCOUNT}/clean.csv", Body=body)

    # Then nothing ran again: the import record and a contact keep the timestamps of the first run
    # (the summary has none: a full re-run would look the same there)
    again = _item(local_cloud, "IMPORT#clean")
    assert (again["finished_at"], again["updated_at"]) == (record["finished_at"], record["updated_at"])
    assert again == record
    assert _item(local_cloud, contact_sk)["updated_at"] == contact["updated_at"]
    assert _item(local_cloud, contact_sk) == contact
    # And the summary and the counts are the same
    assert _summary(local_cloud, "clean") == first
    assert _count(local_cloud, "none") == sendable
    assert _count(local_cloud, "pending") == 0
