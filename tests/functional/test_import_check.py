"""The import_check Lambda on moto: an import file lands in S3, its contacts and reports come out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from functional_cloud import TABLE, Cloud

from listguard.aws import aws_clients
from listguard.contacts import ContactRepository
from listguard.verification import REPORT_COLUMNS, ImportReport

ACCOUNT = "acme"


def contacts_csv(
    valid: int,
    *,
    disposable: int = 0,
    invalid: int = 0,
    first: int = 0,
    extra: Sequence[str] = (),
    name: str = "First",
) -> bytes:
    """A contact file: ``valid`` good addresses, then disposable ones, broken ones and ``extra`` lines."""
    lines = ["email,first_name,company"]
    lines += [f"person{i}@example.com,{name} {i}," for i in range(first, first + valid)]
    lines += [f"throwaway{i}@mailinator.com,Temp {i},Acme" for i in range(disposable)]
    lines += [f"not-an-address-{i},Broken {i},Acme" for i in range(invalid)]
    lines += extra
    return ("\n".join(lines) + "\n").encode()


def import_key(import_id: str, account: str = ACCOUNT) -> str:
    return f"imports/{account}/{import_id}.csv"


def flags(contacts: dict[str, dict[str, Any]]) -> set[str]:
    return {contact["flag_status"] for contact in contacts.values()}


def only_result(response: dict[str, Any]) -> dict[str, Any]:
    (result,) = response["results"]
    return result


def rows_report(cloud: Cloud, import_id: str, account: str = ACCOUNT) -> list[dict[str, str]]:
    text = cloud.read(f"reports/{account}/{import_id}.rows.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == REPORT_COLUMNS
    return list(reader)


def summary(cloud: Cloud, import_id: str, account: str = ACCOUNT) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cloud.read(f"reports/{account}/{import_id}.json"))
    return document


def seed_contacts(cloud: Cloud, items: Sequence[dict[str, Any]]) -> None:
    ContactRepository(cloud.dynamodb, TABLE).put_contacts(items)


def existing_contact(email: str, *, subscription_status: str = "subscribed") -> dict[str, Any]:
    """A contact as other flows write it (an earlier import, an unsubscribe, a hard bounce)."""
    key = email.strip().casefold()
    return {
        "pk": f"ACCOUNT#{ACCOUNT}",
        "sk": f"CONTACT#{key}",
        "type": "contact",
        "email": email,
        "email_key": key,
        "attributes": {},
        "flag_status": "none",
        "subscription_status": subscription_status,
        "import_id": "older",
        "gsi1pk": f"ACCOUNT#{ACCOUNT}#FLAG#none",
        "gsi1sk": key,
        "gsi2pk": f"IMPORT#{ACCOUNT}#older",
        "gsi2sk": key,
    }


class BatchWriteSpy:
    """Wraps the DynamoDB resource's BatchWriteItem: counts calls, and can misbehave on purpose."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, unprocessed_calls: int = 0, fail_on_call: int = 0):
        self.resource = aws_clients().dynamodb
        self.original = self.resource.batch_write_item
        self.unprocessed_calls = unprocessed_calls
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.resent: list[str] = []
        self.reported_unprocessed: list[str] = []
        monkeypatch.setattr(self.resource, "batch_write_item", self)

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("injected failure midway through the import")
        (requests,) = kwargs["RequestItems"].values()
        self.resent.extend(r["PutRequest"]["Item"]["sk"] for r in requests)
        response: dict[str, Any] = self.original(**kwargs)
        if self.calls <= self.unprocessed_calls:
            # DynamoDB under throttling: accept the batch only in part (here it was written anyway,
            # which a replacement put makes harmless; the point is that the rest is sent again).
            unprocessed = requests[len(requests) // 2 :]
            self.reported_unprocessed.extend(r["PutRequest"]["Item"]["sk"] for r in unprocessed)
            response["UnprocessedItems"] = {TABLE: unprocessed}
        return response


# -- imports that need no check ---------------------------------------------------------------------


def test_small_import_needs_no_check_and_its_contacts_are_sendable(cloud: Cloud) -> None:
    # Given a small file: 20 good rows, a broken address and a repeated one
    body = contacts_csv(20, extra=["not-an-address,Broken,Acme", "Person3@Example.com,Again,"])
    event = cloud.upload(import_key("spring"), body)

    # When S3's event reaches the function
    result = only_result(cloud.invoke(event))

    # Then the contacts are imported, sendable and subscribed; unusable rows are reported only
    assert result["status"] == "imported"
    assert result["contacts_written"] == 20
    contacts = cloud.contacts(ACCOUNT, full=True)
    assert sorted(contacts) == sorted(f"person{i}@example.com" for i in range(20))
    assert flags(contacts) == {"none"}
    assert {c["subscription_status"] for c in contacts.values()} == {"subscribed"}
    person = contacts["person7@example.com"]
    assert person["attributes"] == {"first_name": "First 7"}  # empty company dropped, email excluded
    assert person["gsi1pk"] == "ACCOUNT#acme#FLAG#none"
    assert person["gsi2pk"] == "IMPORT#acme#spring"
    assert person["verdict"] == "valid"
    assert person["import_etag"] == event["Records"][0]["s3"]["object"]["eTag"]
    sendable = ContactRepository(cloud.dynamodb, TABLE).contacts_by_flag(ACCOUNT, "none")
    assert sorted(c["email"] for c in sendable) == sorted(f"person{i}@example.com" for i in range(20))

    # And the row report has every data row, the summary the engine's report plus where it came from
    rows = rows_report(cloud, "spring")
    assert len(rows) == 22
    assert rows[20]["verdict"] == "invalid_syntax"
    assert rows[21]["verdict"] == "duplicate"
    document = summary(cloud, "spring")
    assert document["account"] == ACCOUNT
    assert document["import_id"] == "spring"
    assert document["status"] == "imported"
    assert document["source_key"] == "imports/acme/spring.csv"
    report = ImportReport.model_validate(document)
    assert report.rows == 22
    assert report.verification_required is False

    # And the import record and the account profile say the same
    record = cloud.import_record(ACCOUNT, "spring")
    assert record["status"] == "imported"
    assert "outcome" not in record
    assert record["contacts_written"] == 20
    assert record["etag"] == event["Records"][0]["s3"]["object"]["eTag"]
    profile = cloud.table.get_item(Key={"pk": "ACCOUNT#acme", "sk": "PROFILE"})["Item"]
    assert profile["contact_count"] == 20
    assert cloud.flag_events() == []


def test_large_import_into_a_larger_list_needs_no_check(cloud: Cloud, small_check_policy: int) -> None:
    # Given a list of 1,000 contacts (and a check from 100 new contacts: the first 100 are held back)
    seed_contacts(cloud, [existing_contact(f"member{i}@example.org") for i in range(1_000)])
    # ... and an import of 150 new contacts: above the minimum, but under 25% of the list
    event = cloud.upload(import_key("autumn"), contacts_csv(150))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then no check was required: the contacts written pending while that was unknown are sendable
    assert result["status"] == "imported"
    document = summary(cloud, "autumn")
    assert document["existing_contacts"] == 1_000
    assert document["verification_required"] is False
    new = {k: c for k, c in cloud.contacts(ACCOUNT).items() if k.startswith("person")}
    assert len(new) == 150
    assert flags(new) == {"none"}
    assert all(c["gsi1pk"] == "ACCOUNT#acme#FLAG#none" for c in new.values())
    assert cloud.table.get_item(Key={"pk": "ACCOUNT#acme", "sk": "PROFILE"})["Item"]["contact_count"] == 1_150


# -- imports that need a check ----------------------------------------------------------------------


def test_large_clean_import_is_checked_and_validated(cloud: Cloud) -> None:
    # Given 1,200 good new contacts for an empty account (a check is required)
    event = cloud.upload(import_key("big"), contacts_csv(1_200))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then the check validated it and every contact is sendable
    assert result["status"] == "validated"
    assert result["outcome"] == "validated"
    contacts = cloud.contacts(ACCOUNT)
    assert len(contacts) == 1_200
    assert flags(contacts) == {"none"}
    record = cloud.import_record(ACCOUNT, "big")
    assert (record["status"], record["outcome"], record["verification_required"]) == (
        "validated",
        "validated",
        True,
    )
    assert summary(cloud, "big")["outcome"] == "validated"
    assert cloud.flag_events() == []


def test_declined_import_flags_its_contacts_declined_and_tells_integrations(cloud: Cloud) -> None:
    # Given 1,200 rows of which 12.5% are disposable addresses, and 10 broken ones
    event = cloud.upload(import_key("bought-list"), contacts_csv(1_050, disposable=150, invalid=10))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then it is declined: every imported contact is declined, broken rows were not imported
    assert result["status"] == "declined"
    contacts = cloud.contacts(ACCOUNT)
    assert len(contacts) == 1_200
    assert flags(contacts) == {"declined"}
    assert {c["gsi1pk"] for c in contacts.values()} == {"ACCOUNT#acme#FLAG#declined"}
    assert contacts["throwaway3@mailinator.com"]["verdict"] == "disposable"
    assert not any(key.startswith("not-an-address") for key in contacts)
    assert cloud.import_record(ACCOUNT, "bought-list")["status"] == "declined"

    # And exactly one small event went to the flag topic
    (notification,) = cloud.flag_events()
    attributes = notification["MessageAttributes"]
    assert attributes["event_type"]["Value"] == "import_flagged"
    assert attributes["account"]["Value"] == ACCOUNT
    message = json.loads(notification["Message"])
    assert message["import_id"] == "bought-list"
    assert message["outcome"] == "declined"
    assert message["flag_status"] == "declined"
    assert message["contacts"] == 1_200
    assert message["reasons"] and "decline" in message["reasons"][0]


def test_import_sent_to_manual_review_keeps_its_contacts_pending(
    cloud: Cloud, small_check_policy: int
) -> None:
    # Given 200 new contacts (a check is due) of which 6% are disposable (between review and decline)
    event = cloud.upload(import_key("fair"), contacts_csv(188, disposable=12))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then an operator must decide: the import is in review and its contacts stay pending
    assert result["status"] == "in_review"
    assert result["outcome"] == "manual_review"
    assert flags(cloud.contacts(ACCOUNT)) == {"pending"}
    assert cloud.import_record(ACCOUNT, "fair")["status"] == "in_review"
    (notification,) = cloud.flag_events()
    assert json.loads(notification["Message"])["outcome"] == "manual_review"

    # And the operator's later decision goes through the same repository function
    changed = ContactRepository(cloud.dynamodb, TABLE).apply_outcome(ACCOUNT, "fair", "validated")  # type: ignore[arg-type]
    assert changed == 200
    assert flags(cloud.contacts(ACCOUNT)) == {"none"}


def test_blocklisted_contacts_stay_blocklisted(cloud: Cloud) -> None:
    # Given an account whose contact unsubscribed (blocklisted), and a file that imports it again
    seed_contacts(
        cloud,
        [
            existing_contact("Blocked.Person@example.com", subscription_status="blocklisted"),
            existing_contact("member@example.org"),
        ],
    )
    body = contacts_csv(10, extra=["blocked.person@EXAMPLE.com,Blocked,Acme", "member@example.org,Member,"])
    event = cloud.upload(import_key("again"), body)

    # When it is checked
    only_result(cloud.invoke(event))

    # Then the row is reported blocklisted and the contact is not re-subscribed
    rows = rows_report(cloud, "again")
    assert rows[10]["verdict"] == "blocklisted"
    contacts = cloud.contacts(ACCOUNT)
    assert contacts["blocked.person@example.com"]["subscription_status"] == "blocklisted"
    assert contacts["member@example.org"]["subscription_status"] == "subscribed"
    assert contacts["person0@example.com"]["subscription_status"] == "subscribed"
    assert summary(cloud, "again")["existing_contacts"] == 2


# -- delivery, keys and failures ---------------------------------------------------------------------


def test_a_replayed_event_changes_nothing(cloud: Cloud, small_check_policy: int) -> None:
    # Given a declined import that was checked once
    event = cloud.upload(import_key("twice"), contacts_csv(170, disposable=30))
    assert only_result(cloud.invoke(event))["status"] == "declined"
    table_before, objects_before = cloud.items(), cloud.objects()
    assert len(cloud.flag_events()) == 1

    # When S3 delivers the same event again (at least once delivery)
    result = only_result(cloud.invoke(event))

    # Then nothing changed: not one item, not one report, no second notification
    assert result["status"] == "skipped"
    assert result["skipped_reason"] == "duplicate delivery"
    assert cloud.items() == table_before
    assert cloud.objects() == objects_before
    assert cloud.flag_events() == []


def test_a_new_upload_to_the_same_key_is_a_new_check(cloud: Cloud) -> None:
    # Given an import that was checked
    first = cloud.upload(import_key("weekly"), contacts_csv(20))
    only_result(cloud.invoke(first))
    first_etag = cloud.import_record(ACCOUNT, "weekly")["etag"]

    # When different content is uploaded to the same key
    second = cloud.upload(import_key("weekly"), contacts_csv(30, first=100, name="Second"))
    result = only_result(cloud.invoke(second))

    # Then it is checked again, as a new file
    assert result["status"] == "imported"
    assert result["contacts_written"] == 30
    record = cloud.import_record(ACCOUNT, "weekly")
    assert record["etag"] != first_etag
    assert summary(cloud, "weekly")["rows"] == 30
    assert cloud.contacts(ACCOUNT, full=True)["person100@example.com"]["attributes"] == {
        "first_name": "Second 100"
    }


def test_a_late_event_for_overwritten_content_is_skipped(cloud: Cloud) -> None:
    # Given two uploads to the same key, whose events arrive out of order
    older = cloud.upload(import_key("race"), contacts_csv(5))
    newer = cloud.upload(import_key("race"), contacts_csv(8))

    # When both arrive, the newer first
    assert only_result(cloud.invoke(newer))["contacts_written"] == 8
    late = only_result(cloud.invoke(older))

    # Then the late event is skipped: the file it announced is gone
    assert late["status"] == "skipped"
    assert late["skipped_reason"].startswith("object superseded")
    assert summary(cloud, "race")["rows"] == 8
    assert len(cloud.contacts(ACCOUNT)) == 8


def test_encoded_key_with_spaces_plus_and_unicode(cloud: Cloud) -> None:
    # Given a file whose name has spaces, a plus sign and non-ASCII letters
    import_id = "spring list+2024 – café"
    event = cloud.upload(import_key(import_id), contacts_csv(3))
    encoded = event["Records"][0]["s3"]["object"]["key"]
    assert " " not in encoded and "%2F" in encoded  # as moto sends it: URL-encoded, "/" included

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then the key was decoded: the import id and the report keys are the real names
    assert result["status"] == "imported"
    assert result["import_id"] == import_id
    assert cloud.import_record(ACCOUNT, import_id)["source_key"] == import_key(import_id)
    assert summary(cloud, import_id)["import_id"] == import_id
    assert len(rows_report(cloud, import_id)) == 3
    assert {c["gsi2pk"] for c in cloud.contacts(ACCOUNT).values()} == {f"IMPORT#acme#{import_id}"}


@pytest.mark.parametrize(
    ("body", "message_part"),
    [(b"", "empty"), (b"name,company\nAlice,Acme\nBob,Initech\n", "no email column")],
    ids=["empty", "no-email-column"],
)
def test_an_unusable_file_is_rejected_without_an_error(cloud: Cloud, body: bytes, message_part: str) -> None:
    # Given a file that cannot be used at all
    event = cloud.upload(import_key("broken"), body)

    # When it is checked
    result = only_result(cloud.invoke(event))  # does not raise: a retry would not help

    # Then the import is rejected with the one-line reason, and nothing else is written
    assert result["status"] == "rejected"
    assert message_part in result["error"]
    document = summary(cloud, "broken")
    assert document["status"] == "rejected"
    assert document["error"] == result["error"]
    assert "\n" not in document["error"]
    record = cloud.import_record(ACCOUNT, "broken")
    assert (record["status"], record["error"]) == ("rejected", result["error"])
    assert cloud.contacts(ACCOUNT) == {}
    assert "reports/acme/broken.rows.csv" not in cloud.objects()
    assert cloud.flag_events() == []


def test_unprocessed_items_are_sent_again(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB that accepts only half of each of the first three batches
    spy = BatchWriteSpy(monkeypatch, unprocessed_calls=3)
    event = cloud.upload(import_key("throttled"), contacts_csv(100))

    # When 100 contacts are imported
    result = only_result(cloud.invoke(event))

    # Then the unprocessed items were sent again and every contact is there
    assert result["contacts_written"] == 100
    assert spy.calls == 100 // 25 + 3
    assert spy.reported_unprocessed
    # every item reported unprocessed was sent exactly once more
    assert len(spy.resent) == 100 + len(spy.reported_unprocessed)
    assert all(spy.resent.count(sk) >= 2 for sk in set(spy.reported_unprocessed))
    assert len(cloud.contacts(ACCOUNT)) == 100


def test_a_failure_midway_leaves_no_report_and_the_lambda_retry_finishes(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, small_check_policy: int
) -> None:
    # Given an import that needs a check, and a failure after 150 of its 300 contacts were written
    event = cloud.upload(import_key("bumpy"), contacts_csv(300))
    spy = BatchWriteSpy(monkeypatch, fail_on_call=7)

    # When the function fails midway
    with pytest.raises(RuntimeError, match="injected failure"):
        cloud.invoke(event, request_id="request-1")

    # Then no report is visible, the import is still received, and no written contact is sendable
    assert [key for key in cloud.objects() if key.startswith("reports/")] == []
    assert cloud.import_record(ACCOUNT, "bumpy")["status"] == "received"
    written = cloud.contacts(ACCOUNT)
    assert len(written) == 150
    assert flags(written) == {"pending"}

    # When a duplicate delivery arrives meanwhile, it leaves the import to its owner
    assert only_result(cloud.invoke(event, request_id="request-2"))["skipped_reason"] == "duplicate delivery"

    # When Lambda retries the invocation (same request id)
    spy.fail_on_call = 0
    result = only_result(cloud.invoke(event, request_id="request-1"))

    # Then the import completes exactly as if nothing had happened
    assert result["status"] == "validated"
    assert summary(cloud, "bumpy")["existing_contacts"] == 0  # measured before the first attempt
    contacts = cloud.contacts(ACCOUNT)
    assert len(contacts) == 300
    assert flags(contacts) == {"none"}
    assert len(rows_report(cloud, "bumpy")) == 300


def test_objects_outside_the_import_layout_are_ignored(cloud: Cloud) -> None:
    # Given a file in a sub-folder of an account's imports
    event = cloud.upload("imports/acme/old/list.csv", contacts_csv(3))

    # When its event arrives
    result = only_result(cloud.invoke(event))

    # Then it is ignored, and nothing is written
    assert result["status"] == "skipped"
    assert "not an import file" in result["skipped_reason"]
    assert cloud.items() == []
