"""The import_check Lambda on moto: an import file lands in S3, its contacts and reports come out."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from functional_cloud import TABLE, Cloud

from listguard import contacts as contacts_module
from listguard.aws import aws_clients
from listguard.contacts import RESULT_FIELDS, ContactRepository, FlagStatus, batch_put, email_key
from listguard.imports import _ContactWriter
from listguard.verification import REPORT_COLUMNS, ImportReport, normalize_address

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


def existing_contact(
    email: str,
    *,
    subscription_status: str = "subscribed",
    flag_status: str = "none",
    import_id: str = "older",
) -> dict[str, Any]:
    """A contact as other flows write it (an earlier import, an unsubscribe, a hard bounce)."""
    key = email_key(email)
    return {
        "pk": f"ACCOUNT#{ACCOUNT}",
        "sk": f"CONTACT#{key}",
        "type": "contact",
        "email": email,
        "email_key": key,
        "attributes": {},
        "flag_status": flag_status,
        "subscription_status": subscription_status,
        "import_id": import_id,
        "gsi1pk": f"ACCOUNT#{ACCOUNT}#FLAG#{flag_status}",
        "gsi1sk": key,
        "gsi2pk": f"IMPORT#{ACCOUNT}#{import_id}",
        "gsi2sk": key,
    }


class BatchWriteSpy:
    """Wraps the DynamoDB client's BatchWriteItem (called from several threads): counts calls, records
    what was written, and can misbehave on purpose."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        *,
        unprocessed_calls: int = 0,
        fail_on_call: int = 0,
        on_call: dict[int, Callable[[], None]] | None = None,
        delay: float = 0.0,
    ):
        self.client = aws_clients().dynamodb.meta.client
        self.original = self.client.batch_write_item
        self.unprocessed_calls = unprocessed_calls
        self.fail_on_call = fail_on_call
        self.on_call = on_call or {}
        self.delay = delay
        self.calls = 0
        self.sizes: list[int] = []
        self.resent: list[str] = []
        self.written_flags: list[tuple[str, str]] = []  # (sk, flag_status) of every put sent
        self.reported_unprocessed: list[str] = []
        self.concurrent = self.max_concurrent = 0
        self.lock = threading.Lock()
        monkeypatch.setattr(self.client, "batch_write_item", self)

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        (requests,) = kwargs["RequestItems"].values()
        with self.lock:
            self.calls += 1
            call = self.calls
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            return self._call(call, requests, kwargs)
        finally:
            with self.lock:
                self.concurrent -= 1

    def _call(self, call: int, requests: list[dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
        if call in self.on_call:
            self.on_call[call]()
        if call == self.fail_on_call:
            raise RuntimeError("injected failure midway through the import")
        time.sleep(self.delay)
        with self.lock:
            self.sizes.append(len(requests))
            self.resent.extend(r["PutRequest"]["Item"]["sk"] for r in requests)
            self.written_flags.extend(
                (r["PutRequest"]["Item"]["sk"], r["PutRequest"]["Item"]["flag_status"]) for r in requests
            )
        response: dict[str, Any] = self.original(**kwargs)
        if call <= self.unprocessed_calls:
            # DynamoDB under throttling: accept the batch only in part (here it was written anyway,
            # which a replacement put makes harmless; the point is that the rest is sent again).
            unprocessed = requests[len(requests) // 2 :]
            with self.lock:
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
    # Given a contact declined by an earlier import
    seed_contacts(cloud, [existing_contact("person5@example.com", flag_status="declined")])
    # ... and 200 rows with it (a check is due) of which 6% are disposable (between review and decline)
    event = cloud.upload(import_key("fair"), contacts_csv(188, disposable=12))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then an operator must decide: the import is in review and its contacts stay pending
    assert result["status"] == "in_review"
    assert result["outcome"] == "manual_review"
    contacts = cloud.contacts(ACCOUNT)
    assert contacts.pop("person5@example.com")["flag_status"] == "declined"
    assert flags(contacts) == {"pending"}
    assert cloud.import_record(ACCOUNT, "fair")["status"] == "in_review"
    (notification,) = cloud.flag_events()
    assert json.loads(notification["Message"])["outcome"] == "manual_review"

    # And the operator's later decision goes through the same repository function
    changed = ContactRepository(cloud.dynamodb, TABLE).apply_outcome(ACCOUNT, "fair", "validated")  # type: ignore[arg-type]
    assert changed == 199
    contacts = cloud.contacts(ACCOUNT)
    # ... which does not lift a decline either: only remediation does
    assert contacts.pop("person5@example.com")["flag_status"] == "declined"
    assert flags(contacts) == {"none"}


def test_blocklisted_contacts_stay_blocklisted(cloud: Cloud) -> None:
    # Given an account whose contacts unsubscribed (blocklisted), one stored in decomposed Unicode,
    # and a file that imports them again in other forms (case, composed Unicode)
    zoe_decomposed = unicodedata.normalize("NFD", "Zoë.Müller@example.de")
    seed_contacts(
        cloud,
        [
            existing_contact("Blocked.Person@example.com", subscription_status="blocklisted"),
            existing_contact(zoe_decomposed, subscription_status="blocklisted"),
            existing_contact("member@example.org"),
        ],
    )
    body = contacts_csv(
        10,
        extra=[
            "blocked.person@EXAMPLE.com,Blocked,Acme",
            "member@example.org,Member,",
            "ZOË.MÜLLER@example.de,Zoë,Acme",
        ],
    )
    event = cloud.upload(import_key("again"), body)

    # When it is checked
    only_result(cloud.invoke(event))

    # Then the row is reported blocklisted and the contact is not re-subscribed
    # (the engine's verdict alone decides it: contacts and engine share one address identity)
    rows = rows_report(cloud, "again")
    assert rows[10]["verdict"] == "blocklisted"
    assert rows[12]["verdict"] == "blocklisted"
    contacts = cloud.contacts(ACCOUNT)
    assert contacts["blocked.person@example.com"]["subscription_status"] == "blocklisted"
    assert contacts[normalize_address("zoë.müller@example.de")]["subscription_status"] == "blocklisted"
    assert contacts["member@example.org"]["subscription_status"] == "subscribed"
    assert contacts["person0@example.com"]["subscription_status"] == "subscribed"
    assert len(contacts) == 13  # the same contacts, not new ones
    assert summary(cloud, "again")["existing_contacts"] == 3


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
    # calls 1-6 were written; calls already in flight on other threads may have been too
    assert 150 <= len(written) < 300
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


# -- flags: an import never lowers a contact's flag -------------------------------------------------


def test_reimporting_declined_contacts_under_the_check_minimum_keeps_them_declined(
    cloud: Cloud, small_check_policy: int
) -> None:
    # Given an import of 200 rows that was declined (15% disposable addresses)
    declined = cloud.upload(import_key("bought"), contacts_csv(170, disposable=30))
    assert only_result(cloud.invoke(declined))["status"] == "declined"

    # When 90 of its rows come back in a new import, under the check minimum (no check), with 5 new
    body = contacts_csv(90, extra=[f"fresh{i}@example.net,Fresh {i}," for i in range(5)])
    result = only_result(cloud.invoke(cloud.upload(import_key("again"), body)))

    # Then the import needed no check, but the declined contacts stay declined: not sendable
    assert result["status"] == "imported"
    assert result["contacts_written"] == 95
    contacts = cloud.contacts(ACCOUNT)
    assert {contacts[f"person{i}@example.com"]["flag_status"] for i in range(170)} == {"declined"}
    assert {contacts[f"fresh{i}@example.net"]["flag_status"] for i in range(5)} == {"none"}
    sendable = ContactRepository(cloud.dynamodb, TABLE).contacts_by_flag(ACCOUNT, "none")
    assert sorted(c["email"] for c in sendable) == [f"fresh{i}@example.net" for i in range(5)]


def test_a_checked_import_never_lowers_a_flag_even_while_it_runs(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, small_check_policy: int
) -> None:
    # Given contacts declined by an earlier import, contacts pending in another import's review,
    # and a blocklisted one
    seed_contacts(
        cloud,
        [existing_contact(f"person{i}@example.com", flag_status="declined") for i in range(0, 200, 10)]
        + [
            existing_contact(f"person{i}@example.com", flag_status="pending", import_id="in-review")
            for i in range(5, 200, 10)
        ]
        + [existing_contact("person7@example.com", subscription_status="blocklisted")],
    )
    spy = BatchWriteSpy(monkeypatch)

    # When a clean import of 200 rows with them all is checked (past the hold: spooled, then rewritten)
    result = only_result(cloud.invoke(cloud.upload(import_key("clean"), contacts_csv(200))))

    # Then it is validated, yet declined contacts stay declined, pending ones pending, the rest sendable
    assert result["status"] == "validated"
    contacts = cloud.contacts(ACCOUNT)
    declined = {f"person{i}@example.com" for i in range(0, 200, 10)}
    pending = {f"person{i}@example.com" for i in range(5, 200, 10)}
    assert {contacts[key]["flag_status"] for key in declined} == {"declined"}
    assert {contacts[key]["flag_status"] for key in pending} == {"pending"}
    assert flags({k: c for k, c in contacts.items() if k not in declined | pending}) == {"none"}
    assert contacts["person7@example.com"]["subscription_status"] == "blocklisted"
    # And no write ever lowered them, not even the first (pending) one while the check ran
    assert {flag for sk, flag in spy.written_flags if sk.removeprefix("CONTACT#") in declined} == {"declined"}
    assert {flag for sk, flag in spy.written_flags if sk.removeprefix("CONTACT#") in pending} == {"pending"}


def test_an_address_in_another_form_is_the_same_contact(cloud: Cloud) -> None:
    # Given a contact imported with a composed, capitalised Unicode address
    first = cloud.upload(import_key("first"), "email,name\nZoë.Müller@Example.de,Zoë\n".encode())
    only_result(cloud.invoke(first))

    # When it is imported again, decomposed and in other letter cases
    decomposed = unicodedata.normalize("NFD", "zoë.MÜLLER@example.DE")
    second = cloud.upload(import_key("second"), f"email,name\n{decomposed},Zoë\n".encode())
    only_result(cloud.invoke(second))

    # Then it is one contact, under the engine's identity of the address
    contacts = cloud.contacts(ACCOUNT)
    assert list(contacts) == [normalize_address("Zoë.Müller@Example.de")]
    assert email_key(decomposed) == normalize_address(decomposed)


# -- writing contacts -------------------------------------------------------------------------------


def test_the_pending_spool_is_gzip_compressed(cloud: Cloud, tmp_path: Any) -> None:
    # Given a writer past its hold limit (every contact is written pending and spooled)
    repository = ContactRepository(cloud.dynamodb, TABLE)
    spool = tmp_path / "pending.jsonl.gz"
    writer = _ContactWriter(repository, spool, hold_limit=0, prior_flags={})
    items = [
        {
            **existing_contact(f"person{i}@example.com", flag_status="pending"),
            "email_key": f"person{i}@example.com",
        }
        for i in range(200)
    ]

    # When the import's contacts are written and the outcome applied
    writer.add(iter(items))
    written = writer.finish(FlagStatus.NONE)

    # Then the spool is gzip, several times smaller than its JSON, and every contact got the outcome
    assert written == 200
    assert spool.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(spool, "rt", encoding="utf-8") as text:
        lines = text.read().splitlines()
    assert len(lines) == 200
    assert spool.stat().st_size * 4 < sum(len(line.encode()) + 1 for line in lines)
    assert flags(cloud.contacts(ACCOUNT)) == {"none"}


def test_batch_put_writes_from_several_threads(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB answering each BatchWriteItem in 20 ms, and 1,010 contacts (one repeated key)
    monkeypatch.setattr(contacts_module, "WRITE_THREADS", 8)  # the production figure
    spy = BatchWriteSpy(monkeypatch, unprocessed_calls=2, delay=0.02)
    items = [existing_contact(f"person{i}@example.com") for i in range(1_000)]
    items += [existing_contact(f"person{i}@example.com") for i in range(10)]  # same key, same call

    # When they are put
    ordered = items[:10] + items[1_000:] + items[10:1_000]  # the repeats in the first call
    written = batch_put(aws_clients().dynamodb, TABLE, ordered, sleep=lambda _: None)

    # Then several calls were in flight at once, never more than 8, none with more than 25 items,
    # unprocessed items were sent again, and the count is exact
    assert 1 < spy.max_concurrent <= 8
    assert max(spy.sizes) <= 25
    assert spy.reported_unprocessed
    assert written == 1_000
    assert len(cloud.contacts(ACCOUNT)) == 1_000


def test_batch_put_raises_the_error_of_any_call(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB failing the fifth of 40 calls
    monkeypatch.setattr(contacts_module, "WRITE_THREADS", 8)
    spy = BatchWriteSpy(monkeypatch, fail_on_call=5, delay=0.01)
    items = [existing_contact(f"person{i}@example.com") for i in range(1_000)]

    # When the contacts are put, Then the error comes out, and calls not started yet were not sent
    with pytest.raises(RuntimeError, match="injected failure"):
        batch_put(aws_clients().dynamodb, TABLE, items)
    assert spy.calls < 40


# -- import records and stale runs ------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["while its contacts are written", "while its outcome is applied"])
def test_a_run_overtaken_by_a_newer_upload_publishes_nothing(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, small_check_policy: int, moment: str
) -> None:
    # Given an import that will be declined, and a newer upload of the same key claiming it midway
    event = cloud.upload(import_key("overtaken"), contacts_csv(170, disposable=30))
    repository = ContactRepository(cloud.dynamodb, TABLE)

    def newer_upload_claims() -> None:
        claim = repository.claim_import(
            ACCOUNT,
            "overtaken",
            etag="newer-etag",
            claimant="newer-request",
            source_key=import_key("overtaken"),
            lease_seconds=900,
        )
        assert claim is not None

    if moment == "while its contacts are written":
        BatchWriteSpy(monkeypatch, on_call={2: newer_upload_claims})
    else:
        finish = _ContactWriter.finish

        def finish_then_lose_the_import(writer: _ContactWriter, final_flag: FlagStatus) -> int:
            written = finish(writer, final_flag)
            newer_upload_claims()
            return written

        monkeypatch.setattr(_ContactWriter, "finish", finish_then_lose_the_import)

    # When the older run reaches its end
    result = only_result(cloud.invoke(event))

    # Then it leaves the import to the newer run: no report, no event, no finish
    assert result["status"] == "skipped"
    assert result["skipped_reason"] == "superseded by a newer upload"
    assert [key for key in cloud.objects() if key.startswith("reports/")] == []
    assert cloud.flag_events() == []
    record = cloud.import_record(ACCOUNT, "overtaken")
    assert (record["status"], record["etag"], record["claimed_by"]) == (
        "received",
        "newer-etag",
        "newer-request",
    )
    # And none of its contacts is sendable (an outcome is applied only while the run owns the import)
    expected = {"pending"} if moment == "while its contacts are written" else {"declined"}
    assert flags(cloud.contacts(ACCOUNT)) == expected


def test_a_new_upload_clears_the_previous_files_results(cloud: Cloud, small_check_policy: int) -> None:
    # Given an import whose file was checked and declined (the record holds every result)
    event = cloud.upload(import_key("weekly"), contacts_csv(170, disposable=30))
    only_result(cloud.invoke(event))
    finished = cloud.import_record(ACCOUNT, "weekly")
    assert set(RESULT_FIELDS) - {"error"} <= set(finished)

    # When a new file is uploaded to the same key and claims the import
    claim = ContactRepository(cloud.dynamodb, TABLE).claim_import(
        ACCOUNT, "weekly", etag="new-etag", claimant="new", source_key=import_key("weekly"), lease_seconds=900
    )

    # Then none of the previous file's results remain on the record
    assert claim is not None
    record = cloud.import_record(ACCOUNT, "weekly")
    assert {field for field in RESULT_FIELDS if field in record} == set()
    assert (record["status"], record["etag"]) == ("received", "new-etag")


def test_a_new_file_that_is_rejected_shows_no_results_of_the_previous_one(cloud: Cloud) -> None:
    # Given an import that was checked
    only_result(cloud.invoke(cloud.upload(import_key("weekly"), contacts_csv(20))))

    # When an unusable file replaces it
    result = only_result(cloud.invoke(cloud.upload(import_key("weekly"), b"name\nAlice\n")))

    # Then the record says rejected, and nothing about the earlier file's rows and contacts
    assert result["status"] == "rejected"
    record = cloud.import_record(ACCOUNT, "weekly")
    assert record["status"] == "rejected"
    assert not {"rows", "contacts_written", "flag_status", "verdicts", "rows_report_key"} & set(record)
