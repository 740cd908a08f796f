"""The whole remediation on the local cloud: the console starts it, the remediation state machine (its ASL,
executed by moto) runs the export and remediation_steps functions, the customer confirms by typing the
count, and the clean list goes back through the import flow."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from listguard.domain import FlagStatus
from listguard.domain.keys import import_object_key
from listguard.flows.remediation import RemediationError
from listguard.stores import ContactWrite, ImportStamp
from listguard.verification import Verdict
from listguard_console.cli import app
from listguard_console.localcloud import LocalCloud
from listguard_console.stack import Stack, current

pytestmark = pytest.mark.e2e

ACCOUNT = "acme"
CUSTOMER = "owner@acme.example"
# A check from 20 new contacts; chunks of 7 contacts read 3 at a time: a segment of a few dozen spans
# several pages and chunks, as a million does with the deployed sizes.
ENVIRONMENT = {
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "20",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "REMEDIATION_CHUNK_CONTACTS": "7",
    "REMEDIATION_PAGE_SIZE": "3",
}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.start(environment=ENVIRONMENT) as local, current(local):
        Stack(local).accounts.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
        yield local


def listguard(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def until(rid: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
    """``remediate show`` once the execution got there."""
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = listguard("remediate", "show", rid)
        if done(document):
            return document
        assert time.monotonic() < deadline, f"remediation {rid} still {document['status']}"
        time.sleep(0.1)


def waiting(document: dict[str, Any]) -> bool:
    return document["awaiting"] == "delete_confirmation" or document["status"] in {"failed", "done"}


def ended(document: dict[str, Any]) -> bool:
    return (
        document["status"] in {"done", "failed", "timed_out", "nothing_to_do"}
        and document["execution_status"] != "RUNNING"
    )


def events() -> list[str]:
    return [note["event_type"] for note in listguard("notifications", "list", "--account", ACCOUNT)]


def declined(cloud: LocalCloud, count: int, *, first: int = 0, **columns: str) -> None:
    """Contacts that a declined import left."""
    stamp = ImportStamp(ACCOUNT, "bought", "etag-1", FlagStatus.DECLINED, "2026-06-01T00:00:00.000+00:00")
    writes = [
        ContactWrite(f"lead{i}@example.com", {"name": f"Lead {i}", **columns}, Verdict.VALID, i)
        for i in range(first, first + count)
    ]
    Stack(cloud).contacts.merge_import(stamp, writes)


def upload(cloud: LocalCloud, name: str, body: bytes) -> None:
    bucket = cloud.outputs["ImportsBucketName"]
    cloud.client("s3").put_object(Bucket=bucket, Key=import_object_key(ACCOUNT, f"{name}.csv"), Body=body)


def import_rests(import_id: str, *, besides: str = "", timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = listguard("imports", "show", import_id, "--account", ACCOUNT)
        if document["status"] not in {"received", "verifying", besides}:
            return document
        assert time.monotonic() < deadline, f"import {import_id} still {document['status']}"
        time.sleep(0.1)


def test_a_declined_list_is_exported_deleted_cleaned_and_reimported(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a bought list, declined (30 good addresses, opened lately, and 10 disposable ones), and the
    # customer's own sendable contacts
    lines = ["email,first_name,last_open"]
    lines += [f"lead{i}@example.com,Lead {i},2026-11-0{i % 9 + 1}" for i in range(30)]
    lines += [f"temp{i}@mailinator.com,Temp {i}," for i in range(10)]
    upload(cloud, "bought", ("\n".join(lines) + "\n").encode())
    import_rests("bought")
    listguard("imports", "confirm", "bought", "--account", ACCOUNT)
    assert import_rests("bought", besides="awaiting_confirmation")["status"] == "declined"

    # When the customer starts a remediation, attesting consent, with semicolons
    started = listguard("remediate", "start", "--account", ACCOUNT, "--separator", ";", "--consent-attested")
    rid = started["execution_id"]

    # Then the 40 declined contacts are exported in chunks and the execution waits for the count
    shown = until(rid, waiting)
    assert {key: shown[key] for key in ("status", "step", "awaiting", "count")} == {
        "status": "awaiting_confirmation",
        "step": "confirm_delete",
        "awaiting": "delete_confirmation",
        "count": 40,
    }
    assert shown["export"]["rows"] == 40 and shown["execution_status"] == "RUNNING"
    text = " ".join(CliRunner().invoke(app, ["remediate", "show", rid]).stdout.split())  # unwrapped
    assert f"to delete them: listguard remediate confirm-delete {rid} --count 40" in text
    assert events()[0] == "export_ready"
    export = listguard("exports", "download", shown["export"]["export_id"], "--to", str(tmp_path))
    rows = list(csv.DictReader(io.StringIO(Path(export["path"]).read_text("utf-8-sig")), delimiter=";"))
    assert {row["email"] for row in rows} == {
        c["email"] for c in listguard("contacts", "list", "--account", ACCOUNT)
    }

    # When the customer types a wrong count, Then nothing changes and they can try again
    assert "39 is not the number of contacts to delete" in refused(
        "remediate", "confirm-delete", rid, "--count", "39"
    )
    assert listguard("remediate", "show", rid)["status"] == "awaiting_confirmation"

    # When they type the right one, Then exactly the exported contacts are deleted, the list is cleaned
    listguard("remediate", "confirm-delete", rid, "--count", "40")
    done = until(rid, ended)
    assert (done["status"], done["execution_status"]) == ("done", "SUCCEEDED")
    assert done["deleted"] == {"deleted": 40, "left_changed": 0, "already_gone": 0}
    assert (done["clean"]["kept"], done["clean"]["removed"]) == (30, {"disposable": 10})
    # ... and the account's contact counter lost them (exactly: it is what a count of the account finds)
    assert (
        listguard("accounts", "show", ACCOUNT)["contact_count"] == Stack(cloud).contacts.count(ACCOUNT) == 0
    )
    # And the clean list goes back through the import flow, which checks it like any import
    import_id = done["reimport"]["import_id"]
    assert import_id == f"clean-{rid}"
    assert import_rests(import_id)["status"] == "awaiting_confirmation"
    listguard("imports", "confirm", import_id, "--account", ACCOUNT)
    reimported = import_rests(import_id, besides="awaiting_confirmation")
    assert (reimported["status"], reimported["counts"]["new_contacts"]) == ("validated", 30)
    contacts = listguard("contacts", "list", "--account", ACCOUNT)
    assert sorted(c["email"] for c in contacts) == sorted(f"lead{i}@example.com" for i in range(30))
    assert {c["flag"] for c in contacts} == {"none"}
    assert "remediation_finished" in events()
    assert listguard("accounts", "show", ACCOUNT)["contact_count"] == 30


def test_the_contact_counter_stays_exact_under_a_delete_and_imports_at_once(cloud: LocalCloud) -> None:
    # Given 30 declined contacts of a bought list, counted, and a remediation waiting for the count
    upload(cloud, "bought", ("email\n" + "".join(f"temp{i}@mailinator.com\n" for i in range(30))).encode())
    import_rests("bought")
    listguard("imports", "confirm", "bought", "--account", ACCOUNT)
    import_rests("bought", besides="awaiting_confirmation")
    rid = listguard("remediate", "start", "--account", ACCOUNT)["execution_id"]
    until(rid, waiting)

    # When the delete runs (in the state machine's thread) while two imports of new contacts, and one that
    # brings some of the declined ones again, are checked and written (in this one)
    listguard("remediate", "confirm-delete", rid, "--count", "30")
    upload(cloud, "fresh-1", ("email\n" + "".join(f"new{i}@example.com\n" for i in range(15))).encode())
    upload(
        cloud, "fresh-2", ("email\n" + "".join(f"temp{i}@mailinator.com\n" for i in range(0, 30, 3))).encode()
    )
    upload(cloud, "fresh-3", ("email\n" + "".join(f"new{i}@example.com\n" for i in range(10, 25))).encode())
    until(rid, ended)
    for name in ("fresh-1", "fresh-2", "fresh-3"):
        import_rests(name, timeout=60)

    # Then the counter is exactly what a count of the account finds
    assert listguard("accounts", "show", ACCOUNT)["contact_count"] == Stack(cloud).contacts.count(ACCOUNT)


def test_no_confirmation_before_the_deadline_deletes_nothing() -> None:
    # Given a stack whose customers have 2 seconds to confirm a delete
    with (
        LocalCloud.start(
            environment={**ENVIRONMENT, "REMEDIATION_CONFIRMATION_TIMEOUT_SECONDS": "2"}
        ) as cloud,
        current(cloud),
    ):
        declined(cloud, 5)
        rid = listguard("remediate", "start", "--account", ACCOUNT)["execution_id"]
        assert until(rid, waiting)["awaiting"] == "delete_confirmation"

        # When nobody confirms, Then the execution ends without deleting, and says so
        done = until(rid, ended, timeout=20)
        assert (done["status"], done["execution_status"], done["step"]) == (
            "timed_out",
            "SUCCEEDED",
            "confirm_delete",
        )
        assert len(listguard("contacts", "list", "--account", ACCOUNT)) == 5
        assert "remediation_timed_out" in events()
        assert "timed out" in refused("remediate", "confirm-delete", rid, "--count", "5")


def test_a_missing_export_deletes_nothing_and_the_customer_is_told(cloud: LocalCloud) -> None:
    # Given a remediation waiting for its count, whose export's version is then deleted
    declined(cloud, 9)
    rid = listguard("remediate", "start", "--account", ACCOUNT)["execution_id"]
    export = until(rid, waiting)["export"]
    cloud.client("s3").delete_object(
        Bucket=cloud.outputs["ExportsBucketName"], Key=export["key"], VersionId=export["version_id"]
    )

    # When the customer confirms
    listguard("remediate", "confirm-delete", rid, "--count", "9")

    # Then the check of the export stops the remediation before any delete, with the reason
    failed = until(rid, ended)
    assert (failed["status"], failed["step"], failed["execution_status"]) == ("failed", "delete", "FAILED")
    assert "is gone: nothing more is deleted without it" in failed["error"]
    assert len(listguard("contacts", "list", "--account", ACCOUNT)) == 9
    assert events()[0] == "remediation_failed"
    assert "has no clean list yet" in refused("exports", "download", rid, "--clean", "--to", "/tmp")


def test_blocklisted_contacts_are_never_exported_nor_deleted(cloud: LocalCloud) -> None:
    # Given 6 declined contacts, one of them blocklisted
    declined(cloud, 6, last_open="2026-11-01")
    listguard("contacts", "blocklist", "lead0@example.com", "--account", ACCOUNT)
    rid = listguard("remediate", "start", "--account", ACCOUNT)["execution_id"]
    shown = until(rid, waiting)
    assert shown["count"] == 5

    # When another one unsubscribes after the export, and the customer confirms the 5
    listguard("contacts", "blocklist", "lead1@example.com", "--account", ACCOUNT)
    listguard("remediate", "confirm-delete", rid, "--count", "5")

    # Then both blocklisted contacts are still there, blocklisted; the one that changed is reported
    done = until(rid, ended)
    assert done["deleted"] == {"deleted": 4, "left_changed": 1, "already_gone": 0}
    contacts = listguard("contacts", "list", "--account", ACCOUNT)
    assert {(c["email"], c["subscription"]) for c in contacts} == {
        ("lead0@example.com", "blocklisted"),
        ("lead1@example.com", "blocklisted"),
    }
    # And without the attestation the clean list is not reimported: it waits, ready to download
    assert done["reimport"] == {
        "consent_attested": False,
        "import_id": None,
        "skipped": "no consent attested: the clean list is ready to download",
    }
    assert done["clean"]["kept"] == 4  # the one blocklisted after the export is removed, as blocklisted


def test_starting_again_runs_once_and_a_failed_remediation_is_retried_to_its_end(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a clean step that fails (an error listguard does not retry), then works again
    from listguard.flows.remediation import clean

    failing = {"on": True}
    real = clean._why_removed

    def why_removed(*args: Any) -> Any:
        if failing["on"]:
            raise RemediationError("the clean list could not be written")
        return real(*args)

    monkeypatch.setattr(clean, "_why_removed", why_removed)
    declined(cloud, 8)

    # When the customer starts the same remediation twice, Then it is one remediation, one execution
    first = listguard("remediate", "start", "--account", ACCOUNT, "--request-id", "spring")
    again = listguard("remediate", "start", "--account", ACCOUNT, "--request-id", "spring")
    assert first["execution_id"] == again["execution_id"]
    rid = first["execution_id"]
    until(rid, waiting)
    listguard("remediate", "confirm-delete", rid, "--count", "8")

    # Then it fails at the clean, after the delete, and says where and why
    failed = until(rid, ended)
    assert (failed["status"], failed["step"]) == ("failed", "clean")
    assert failed["error"] == "it stopped while cleaning: the clean list could not be written"
    assert failed["deleted"]["deleted"] == 8

    # When the customer retries it, Then a second execution resumes at the clean and finishes
    failing["on"] = False
    retried = listguard("remediate", "retry", rid)
    assert (retried["attempt"], retried["execution_id"]) == (2, f"{rid}-a2")
    done = until(rid, ended)
    assert (done["status"], done["execution_status"]) == ("done", "SUCCEEDED")
    assert done["deleted"] == {"deleted": 8, "left_changed": 0, "already_gone": 0}
    sfn = cloud.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=cloud.outputs["RemediationStateMachineArn"])[
        "executions"
    ]
    assert sorted(e["name"] for e in executions) == [rid, f"{rid}-a2"]
    assert events().count("remediation_finished") == 1


def test_what_the_console_cannot_do_is_one_error_line(cloud: LocalCloud) -> None:
    unknown = "rem-000000000000000000000000"
    for args, message in [
        (["remediate", "show", "nope"], "'nope' is not a remediation id"),
        (["remediate", "show", unknown], f"no remediation {unknown}"),
        (["remediate", "start", "--account", ACCOUNT], "no declined contact that is subscribed"),
        (["remediate", "start", "--account", ACCOUNT, "--separator", ":"], "separator ':' is not supported"),
        (["remediate", "confirm-delete", unknown, "--count", "1"], "no remediation"),
        (["exports", "download", "exp-000000000000000000000000", "--to", "/tmp"], "no remediation"),
    ]:
        assert message in refused(*args), args
    declined(cloud, 2)
    campaign = ["remediate", "start", "--account", ACCOUNT, "--campaign", "spring"]
    assert "no campaign spring in account acme" in refused(*campaign)
