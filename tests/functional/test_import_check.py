"""The import_check Lambda on moto: an import file lands in S3, its contacts and reports come out."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import pytest
from functional_cloud import ACCOUNT, Cloud, flags, run_the_state_machine, subscriptions

from listguard.domain import FlagStatus, ImportStatus
from listguard.domain.keys import contact_key
from listguard.stores import RESULT_FIELDS
from listguard.verification import REPORT_COLUMNS, ImportReport, normalize_address


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


def only_result(response: dict[str, Any]) -> dict[str, Any]:
    (result,) = response["results"]
    return dict(result)


def rows_report(cloud: Cloud, import_id: str, account: str = ACCOUNT) -> list[dict[str, str]]:
    text = cloud.read(f"reports/{account}/{import_id}.rows.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == REPORT_COLUMNS
    return list(reader)


def summary(cloud: Cloud, import_id: str, account: str = ACCOUNT) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cloud.read(f"reports/{account}/{import_id}.json"))
    return document


def people(first: int, stop: int, step: int = 1) -> list[str]:
    return [f"person{i}@example.com" for i in range(first, stop, step)]


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
    contacts = cloud.contacts()
    assert sorted(contacts) == sorted(people(0, 20))
    assert flags(contacts) == {"none"}
    assert subscriptions(contacts) == {"subscribed"}
    person = contacts["person7@example.com"]
    assert person.attributes == {"first_name": "First 7"}  # empty company dropped, email excluded
    assert (person.verdict, person.import_id, person.row, person.rev) == ("valid", "spring", 8, 1)
    assert person.sendable
    # And a sendable contact is in no index (the flag and by-import indexes are sparse)
    item = cloud.raw_item("ACCOUNT#acme", "CONTACT#person7@example.com")
    assert not {"gsi1pk", "gsi2pk", "flagged_by"} & set(item)
    assert item["import_etag"] == event["Records"][0]["s3"]["object"]["eTag"]

    # And the row report has every data row, the summary the engine's report plus where it came from
    rows = rows_report(cloud, "spring")
    assert len(rows) == 22
    assert rows[20]["verdict"] == "invalid_syntax"
    assert rows[21]["verdict"] == "duplicate"
    document = summary(cloud, "spring")
    assert (document["account"], document["import_id"], document["status"]) == (ACCOUNT, "spring", "imported")
    assert document["source_key"] == "imports/acme/spring.csv"
    report = ImportReport.model_validate(document)
    assert report.rows == 22
    assert report.verification_required is False

    # And the import record and the account profile say the same
    record = cloud.import_record("spring")
    assert record.status is ImportStatus.IMPORTED
    assert record.outcome is None
    assert record.contacts_written == 20
    assert record.etag == event["Records"][0]["s3"]["object"]["eTag"]
    assert cloud.account_store.get(ACCOUNT).contact_count == 20
    assert cloud.flag_events() == []


def test_large_import_into_a_larger_list_needs_no_check(cloud: Cloud, small_check_policy: int) -> None:
    # Given a list of 700 contacts, and an import of 150 new ones: above the minimum (100), under 25%
    cloud.seed(f"member{i}@example.org" for i in range(700))
    event = cloud.upload(import_key("autumn"), contacts_csv(150))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then no check was required, and the new contacts are sendable
    assert result["status"] == "imported"
    document = summary(cloud, "autumn")
    assert document["existing_contacts"] == 700
    assert document["verification_required"] is False
    new = {k: c for k, c in cloud.contacts().items() if k.startswith("person")}
    assert len(new) == 150
    assert flags(new) == {"none"}
    assert cloud.account_store.get(ACCOUNT).contact_count == 850


# -- imports that need a check ----------------------------------------------------------------------


def test_a_checked_import_waits_for_the_customer_with_nothing_written(
    cloud: Cloud, small_check_policy: int
) -> None:
    # Given 250 good new contacts for an empty account (a check is required), in chunks of 100
    cloud.environment["IMPORT_CHUNK_SIZE"] = "100"
    event = cloud.upload(import_key("big"), contacts_csv(250))

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then the check is complete, but nothing is imported: the state machine holds the import
    assert (result["status"], result["outcome"]) == ("verifying", "validated")
    record = cloud.import_record("big")
    assert (record.status, record.decided_status, record.needs_confirmation) == (
        "verifying",
        "validated",
        True,
    )
    assert (record.chunks, record.rows, record.new_contacts) == (3, 250, 250)
    assert cloud.contacts() == {}
    # ... its contacts wait in S3, one object per chunk, and the reports are published
    objects = cloud.objects()
    chunks = sorted(key for key in objects if key.startswith(f"work/acme/big/{record.etag}/"))
    assert [key.rsplit("/", 1)[1] for key in chunks] == [f"contacts-0000{i}.jsonl.gz" for i in range(3)]
    assert summary(cloud, "big")["status"] == "verifying"
    assert len(rows_report(cloud, "big")) == 250
    # ... and one execution was started for it
    (execution,) = cloud.executions()
    assert execution["input"] == {
        "import": {"account": ACCOUNT, "import_id": "big", "etag": record.etag},
        "needs_confirmation": True,
        "confirmation_timeout_seconds": 7 * 24 * 3600,
        "chunks": [0, 1, 2],
    }
    assert execution["name"] == record.execution_name


def test_large_clean_import_is_checked_and_validated(cloud: Cloud, small_check_policy: int) -> None:
    # Given 300 good new contacts for an empty account (a check is required)
    only_result(cloud.invoke(cloud.upload(import_key("big"), contacts_csv(300))))

    # When the customer continues and the state machine applies the outcome
    status = run_the_state_machine(cloud, "big")

    # Then the check validated it and every contact is sendable
    assert status == "validated"
    contacts = cloud.contacts()
    assert len(contacts) == 300
    assert flags(contacts) == {"none"}
    record = cloud.import_record("big")
    assert (record.status, record.outcome, record.verification_required) == ("validated", "validated", True)
    assert record.contacts_written == 300
    assert summary(cloud, "big")["status"] == "validated"


def test_declined_import_flags_its_contacts_declined(cloud: Cloud, small_check_policy: int) -> None:
    # Given 200 rows of which 15% are disposable addresses, and 5 broken ones
    only_result(
        cloud.invoke(cloud.upload(import_key("bought-list"), contacts_csv(170, disposable=30, invalid=5)))
    )

    # When the customer continues
    status = run_the_state_machine(cloud, "bought-list")

    # Then it is declined: every imported contact is declined, broken rows were not imported
    assert status == "declined"
    contacts = cloud.contacts()
    assert len(contacts) == 200
    assert flags(contacts) == {"declined"}
    assert contacts["throwaway3@mailinator.com"].verdict == "disposable"
    assert {c.flagged_by for c in contacts.values()} == {"bought-list"}
    assert not any(key.startswith("not-an-address") for key in contacts)
    assert cloud.import_record("bought-list").status is ImportStatus.DECLINED
    # And the flag index finds them without reading the account
    assert len(list(cloud.contact_store.list(ACCOUNT, flag=FlagStatus.DECLINED))) == 200


def test_import_sent_to_manual_review_keeps_its_contacts_pending(
    cloud: Cloud, small_check_policy: int
) -> None:
    # Given a contact declined by an earlier import
    cloud.seed(["person5@example.com"], flag=FlagStatus.DECLINED, import_id="older")
    # ... and 200 rows with it (a check is due) of which 6% are disposable (between review and decline)
    only_result(cloud.invoke(cloud.upload(import_key("fair"), contacts_csv(188, disposable=12))))

    # When the customer continues
    status = run_the_state_machine(cloud, "fair")

    # Then an operator must decide: the import is in review and its contacts stay pending
    assert status == "in_review"
    contacts = cloud.contacts()
    declined = contacts.pop("person5@example.com")
    assert (declined.flag_status, declined.flagged_by) == ("declined", "older")
    assert flags(contacts) == {"pending"}
    assert cloud.import_record("fair").status is ImportStatus.IN_REVIEW
    # And the contacts an operator's decision reaches are exactly those the import flagged
    assert {c.email_key for c in cloud.contact_store.flagged_by(ACCOUNT, "fair")} == set(contacts)


def test_blocklisted_contacts_stay_blocklisted(cloud: Cloud) -> None:
    # Given an account whose contacts unsubscribed (blocklisted), one stored in decomposed Unicode,
    # and a file that imports them again in other forms (case, composed Unicode)
    zoe_decomposed = unicodedata.normalize("NFD", "Zoë.Müller@example.de")
    unsubscribed = ["Blocked.Person@example.com", zoe_decomposed]
    cloud.seed(["member@example.org", *unsubscribed], blocklisted=unsubscribed)
    body = contacts_csv(
        10,
        extra=[
            "blocked.person@EXAMPLE.com,Blocked,Acme",
            "member@example.org,Member,",
            "ZOË.MÜLLER@example.de,Zoë,Acme",
        ],
    )

    # When it is checked
    only_result(cloud.invoke(cloud.upload(import_key("again"), body)))

    # Then the rows are reported blocklisted and the contacts are not re-subscribed
    rows = rows_report(cloud, "again")
    assert rows[10]["verdict"] == "blocklisted"
    assert rows[12]["verdict"] == "blocklisted"
    contacts = cloud.contacts()
    assert contacts["blocked.person@example.com"].subscription_status == "blocklisted"
    assert contacts[normalize_address("zoë.müller@example.de")].subscription_status == "blocklisted"
    assert contacts["member@example.org"].subscription_status == "subscribed"
    assert contacts["person0@example.com"].subscription_status == "subscribed"
    assert len(contacts) == 13  # the same contacts, not new ones
    assert summary(cloud, "again")["existing_contacts"] == 3


# -- delivery, keys and failures ---------------------------------------------------------------------


def test_a_replayed_event_changes_nothing(cloud: Cloud, small_check_policy: int) -> None:
    # Given a declined import that was checked once
    event = cloud.upload(import_key("twice"), contacts_csv(170, disposable=30))
    only_result(cloud.invoke(event))
    assert run_the_state_machine(cloud, "twice") == "declined"
    table_before, objects_before = cloud.items(), cloud.objects()
    executions_before = cloud.executions()
    cloud.flag_events()

    # When S3 delivers the same event again (at least once delivery)
    result = only_result(cloud.invoke(event))

    # Then nothing changed: not one item, not one report, no second notification
    assert (result["status"], result["skipped_reason"]) == ("skipped", "duplicate delivery")
    assert cloud.items() == table_before
    assert cloud.objects() == objects_before
    assert cloud.executions() == executions_before
    assert cloud.flag_events() == []


def test_a_new_upload_to_the_same_key_is_a_new_check(cloud: Cloud) -> None:
    # Given an import that was checked
    only_result(cloud.invoke(cloud.upload(import_key("weekly"), contacts_csv(20))))
    first_etag = cloud.import_record("weekly").etag

    # When different content is uploaded to the same key
    second = cloud.upload(import_key("weekly"), contacts_csv(30, first=100, name="Second"))
    result = only_result(cloud.invoke(second))

    # Then it is checked again, as a new file
    assert (result["status"], result["contacts_written"]) == ("imported", 30)
    assert cloud.import_record("weekly").etag != first_etag
    assert summary(cloud, "weekly")["rows"] == 30
    assert cloud.contacts()["person100@example.com"].attributes == {"first_name": "Second 100"}


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
    assert len(cloud.contacts()) == 8


def test_encoded_key_with_spaces_plus_and_unicode(cloud: Cloud) -> None:
    # Given a file whose name has spaces, a plus sign and non-ASCII letters
    import_id = "spring list+2024 – café"
    event = cloud.upload(import_key(import_id), contacts_csv(3))
    encoded = event["Records"][0]["s3"]["object"]["key"]
    assert " " not in encoded and "%2F" in encoded  # as moto sends it: URL-encoded, "/" included

    # When it is checked
    result = only_result(cloud.invoke(event))

    # Then the key was decoded: the import id and the report keys are the real names
    assert (result["status"], result["import_id"]) == ("imported", import_id)
    assert cloud.import_record(import_id).source_key == import_key(import_id)
    assert summary(cloud, import_id)["import_id"] == import_id
    assert len(rows_report(cloud, import_id)) == 3
    assert {c.import_id for c in cloud.contacts().values()} == {import_id}


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
    assert (document["status"], document["error"]) == ("rejected", result["error"])
    assert "\n" not in document["error"]
    record = cloud.import_record("broken")
    assert (record.status, record.error) == ("rejected", result["error"])
    assert cloud.contacts() == {}
    assert "reports/acme/broken.rows.csv" not in cloud.objects()
    assert cloud.flag_events() == []


def test_objects_outside_the_import_layout_are_ignored(cloud: Cloud) -> None:
    # Given a file in a sub-folder of an account's imports
    event = cloud.upload("imports/acme/old/list.csv", contacts_csv(3))

    # When its event arrives
    result = only_result(cloud.invoke(event))

    # Then it is ignored, and nothing is written
    assert result["status"] == "skipped"
    assert "imports/<account>/<import-id>.csv" in result["skipped_reason"]
    assert cloud.items() == []


# -- flags: an import never lowers a contact's flag -------------------------------------------------


def test_reimporting_declined_contacts_under_the_check_minimum_keeps_them_declined(
    cloud: Cloud, small_check_policy: int
) -> None:
    # Given an import of 200 rows that was declined (15% disposable addresses)
    only_result(cloud.invoke(cloud.upload(import_key("bought"), contacts_csv(170, disposable=30))))
    assert run_the_state_machine(cloud, "bought") == "declined"

    # When 90 of its rows come back in a new import, under the check minimum (no check), with 5 new
    body = contacts_csv(90, extra=[f"fresh{i}@example.net,Fresh {i}," for i in range(5)])
    result = only_result(cloud.invoke(cloud.upload(import_key("again"), body)))

    # Then the import needed no check, but the declined contacts stay declined: not sendable
    assert (result["status"], result["contacts_written"]) == ("imported", 95)
    contacts = cloud.contacts()
    assert {contacts[key].flag_status for key in people(0, 170)} == {"declined"}
    assert {contacts[key].flagged_by for key in people(0, 170)} == {"bought"}
    sendable = cloud.contact_store.list(ACCOUNT, flag=FlagStatus.NONE)
    assert sorted(c.email for c in sendable) == [f"fresh{i}@example.net" for i in range(5)]


def test_a_checked_import_never_lowers_a_flag(cloud: Cloud, small_check_policy: int) -> None:
    # Given contacts declined by an earlier import, contacts pending in another import's review,
    # and a blocklisted one
    declined, pending = set(people(0, 200, 10)), set(people(5, 200, 10))
    cloud.seed(declined, flag=FlagStatus.DECLINED, import_id="bought")
    cloud.seed(pending, flag=FlagStatus.PENDING, import_id="in-review")
    cloud.seed([], blocklisted=["person7@example.com"])

    # When a clean import of 200 rows with them all is checked
    only_result(cloud.invoke(cloud.upload(import_key("clean"), contacts_csv(200))))

    # Then it is validated, yet declined contacts stay declined, pending ones pending, the rest sendable
    assert run_the_state_machine(cloud, "clean") == "validated"
    contacts = cloud.contacts()
    assert {contacts[key].flag_status for key in declined} == {"declined"}
    assert {contacts[key].flag_status for key in pending} == {"pending"}
    # ... still reached by the decision on the import that flagged them
    assert {c.email_key for c in cloud.contact_store.flagged_by(ACCOUNT, "in-review")} == pending
    assert flags({k: c for k, c in contacts.items() if k not in declined | pending}) == {"none"}
    assert contacts["person7@example.com"].subscription_status == "blocklisted"


def test_an_address_in_another_form_is_the_same_contact(cloud: Cloud) -> None:
    # Given a contact imported with a composed, capitalised Unicode address
    first = cloud.upload(import_key("first"), "email,name\nZoë.Müller@Example.de,Zoë\n".encode())
    only_result(cloud.invoke(first))

    # When it is imported again, decomposed and in other letter cases
    decomposed = unicodedata.normalize("NFD", "zoë.MÜLLER@example.DE")
    second = cloud.upload(import_key("second"), f"email,name\n{decomposed},Zoë\n".encode())
    only_result(cloud.invoke(second))

    # Then it is one contact, under the engine's identity of the address, written twice
    contacts = cloud.contacts()
    assert list(contacts) == [normalize_address("Zoë.Müller@Example.de")]
    assert contact_key(decomposed) == normalize_address(decomposed)
    assert contacts[contact_key(decomposed)].rev == 2


# -- import records ---------------------------------------------------------------------------------


def test_a_new_upload_clears_the_previous_files_results(cloud: Cloud, small_check_policy: int) -> None:
    # Given an import whose file was checked and declined (the record holds every result)
    only_result(cloud.invoke(cloud.upload(import_key("weekly"), contacts_csv(170, disposable=30))))
    run_the_state_machine(cloud, "weekly")
    finished = cloud.raw_item("ACCOUNT#acme", "IMPORT#weekly")
    assert {"outcome", "rows", "verdicts", "reasons", "contacts_written", "chunks", "decided_status"} <= set(
        finished
    )

    # When a new file is uploaded to the same key and claims the import
    claim = cloud.import_store.claim(
        ACCOUNT, "weekly", etag="new-etag", claimant="new", source_key=import_key("weekly"), lease_seconds=900
    )

    # Then none of the previous file's results remain on the record
    assert claim is not None
    record = cloud.raw_item("ACCOUNT#acme", "IMPORT#weekly")
    assert {field for field in RESULT_FIELDS if field in record} == set()
    assert (record["status"], record["etag"]) == ("received", "new-etag")


def test_a_new_file_that_is_rejected_shows_no_results_of_the_previous_one(cloud: Cloud) -> None:
    # Given an import that was checked
    only_result(cloud.invoke(cloud.upload(import_key("weekly"), contacts_csv(20))))

    # When an unusable file replaces it
    result = only_result(cloud.invoke(cloud.upload(import_key("weekly"), b"name\nAlice\n")))

    # Then the record says rejected, and nothing about the earlier file's rows and contacts
    assert result["status"] == "rejected"
    record = cloud.raw_item("ACCOUNT#acme", "IMPORT#weekly")
    assert record["status"] == "rejected"
    assert not {"rows", "contacts_written", "flag_status", "verdicts", "rows_report_key"} & set(record)
