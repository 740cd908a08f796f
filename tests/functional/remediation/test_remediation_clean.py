"""After the delete, on moto: the clean list and its report, the reimport (only with consent), the
campaign's requeue mark, the end, and a failure that a retry resumes."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime

import pytest
from functional_cloud import ACCOUNT, BUCKET, CUSTOMER
from remediation_cloud import RemediationCloud, people

from listguard.domain import EventType
from listguard.domain.keys import account_pk, campaign_sk
from listguard.domain.remediation import RemediationStatus
from listguard.flows.remediation import RemediationSupersededError, lifecycle
from listguard.flows.remediation.confirm import confirm_delete
from listguard.stores import NotificationStore
from listguard.stores.requeue_marks import requeue_mark
from listguard.verification import Verdict

# Engagement dates, as of the remediation's start on 2026-11-30.
RECENT, OLD_OPEN, OLD_CLICK, OLD_CONSENT = "2026-10-15", "2026-03-01", "2025-06-01", "2023-01-10"


def remediated(world: RemediationCloud, count: int, **options: object) -> str:
    rid = lifecycle.start(world.services, ACCOUNT, request_id="r-1", **options).remediation_id  # type: ignore[arg-type]
    world.run_to_confirmation(rid)
    confirm_delete(world.services, rid, count)
    world.run_after_confirmation(rid)
    return rid


def rows(text: str, separator: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=separator))


@pytest.fixture(autouse=True)
def _started_on_2026_11_30(remediation: RemediationCloud) -> None:
    """The engagement rule counts its months from the remediation's start: a fixed day here."""
    remediation.services = dataclasses.replace(
        remediation.services, clock=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC)
    )


def test_the_clean_list_drops_invalid_and_unengaged_contacts_and_says_why(
    remediation: RemediationCloud,
) -> None:
    # Given declined contacts: engaged ones, invalid ones by the engine, and unengaged ones by their dates
    remediation.declined(
        [
            ("ann@example.com", {"name": "Ann", "last_open": RECENT, "last_click": RECENT}),
            ("bea@example.com", {"name": "Bea", "Last Opened": OLD_OPEN}),
            ("cid@example.com", {"name": "Cid", "last_open": RECENT, "last_click_date": OLD_CLICK}),
            ("dan@example.com", {"name": "Dan", "consent_date": OLD_CONSENT}),
            ("eve@example.com", {"name": "Eve", "signup_date": OLD_CONSENT, "last_sent_at": RECENT}),
            ("=1+1@example.com", {"name": "Formula"}),
            ("fay@example.com", {"name": "=cmd|' /C calc'!A0"}),
        ]
    )
    remediation.declined([("temp@mailinator.com", {"name": "Temp"})], verdict=Verdict.DISPOSABLE)
    remediation.declined([("info@globex.com", {"name": "Info"})], verdict=Verdict.ROLE_ACCOUNT)

    # When it is remediated (consent not attested)
    rid = remediated(remediation, 9)

    # Then the clean list holds the engaged contacts, their imported columns only, formula-safe
    record = remediation.record(rid)
    assert record.clean is not None
    clean = rows(remediation.read(record.clean.clean_key, record.clean.clean_version_id))
    assert [row["email"] for row in clean] == ["ann@example.com", "eve@example.com", "fay@example.com"]
    assert not any(column.startswith("listguard.") for column in clean[0])
    assert clean[2]["name"] == "'=cmd|' /C calc'!A0"
    # And the report says why each other one was removed
    report = {row["email"]: row for row in rows(remediation.read(record.clean.report_key))}
    assert {email: row["reason"] for email, row in report.items()} == {
        "bea@example.com": "no_open_6_months",
        "cid@example.com": "no_click_12_months",
        "dan@example.com": "stale_consent",
        "'=1+1@example.com": "formula_address",  # formula-safe in the report too
        "temp@mailinator.com": "disposable",
        "info@globex.com": "role_account",
    }
    assert report["bea@example.com"]["detail"] == f"last open {OLD_OPEN}, over 6 months ago"
    assert record.clean.kept == 3
    assert record.clean.removed == {
        "disposable": 1,
        "formula_address": 1,
        "no_click_12_months": 1,
        "no_open_6_months": 1,
        "role_account": 1,
        "stale_consent": 1,
    }
    # And without the attestation nothing is reimported: the clean list is ready to download
    assert record.status is RemediationStatus.DONE
    assert record.reimport_import_id is None
    assert not any(key.startswith("imports/") for key in remediation.cloud.objects())


def test_with_consent_attested_the_clean_list_is_reimported_through_the_import_flow(
    remediation: RemediationCloud,
) -> None:
    remediation.cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-07-01")
    remediation.declined(people(4, last_open=RECENT))
    remediation.declined([("temp@mailinator.com", {})], verdict=Verdict.DISPOSABLE)

    rid = remediated(remediation, 5, consent_attested=True)

    # Then the clean list is an upload of the imports bucket, named after the remediation
    record = remediation.record(rid)
    assert record.clean is not None and record.reimport_import_id == f"clean-{rid}"
    key = f"imports/{ACCOUNT}/clean-{rid}.csv"
    uploaded = remediation.read(key, bucket=BUCKET)
    assert uploaded == remediation.read(record.clean.clean_key, record.clean.clean_version_id)
    assert [row["email"] for row in rows(uploaded)] == [f"person{i}@example.com" for i in range(4)]
    # And a replayed reimport does not upload it again
    remediation.s3.delete_object(Bucket=BUCKET, Key=key)
    remediation.step("reimport", rid)
    assert key not in remediation.cloud.objects()
    # And the customer is told what happened, once
    notes = list(NotificationStore(remediation.cloud.table).list(ACCOUNT))
    [finished] = [n for n in notes if n.event_type is EventType.REMEDIATION_FINISHED]
    assert f"import clean-{rid}" in finished.text and "4 contacts" not in finished.subject
    remediation.step("finish", rid)
    assert len(list(NotificationStore(remediation.cloud.table).list(ACCOUNT))) == len(notes)


def test_the_interrupted_campaign_is_marked_for_requeue_and_nothing_else_of_it_changes(
    remediation: RemediationCloud,
) -> None:
    campaign = {
        "pk": account_pk(ACCOUNT),
        "sk": campaign_sk("spring"),
        "name": "Spring sale",
        "state": "paused",
    }
    remediation.cloud.table.put(campaign)
    remediation.declined(people(2, last_open=RECENT))

    rid = remediated(remediation, 2, campaign_id="spring")

    record = remediation.record(rid)
    assert record.requeue == "marked"
    mark = requeue_mark(remediation.cloud.table, ACCOUNT, "spring")
    assert mark is not None and mark.requested_by == rid and mark.requested_at == record.cleaned_at
    item = remediation.cloud.raw_item(account_pk(ACCOUNT), campaign_sk("spring"))
    assert item == {**campaign, "requeue_requested_by": rid, "requeue_requested_at": record.cleaned_at}


def test_a_campaign_deleted_meanwhile_is_not_created_by_the_mark(remediation: RemediationCloud) -> None:
    remediation.cloud.table.put({"pk": account_pk(ACCOUNT), "sk": campaign_sk("spring")})
    remediation.declined(people(2, last_open=RECENT))
    rid = lifecycle.start(
        remediation.services, ACCOUNT, request_id="r-1", campaign_id="spring"
    ).remediation_id
    remediation.cloud.table.delete({"pk": account_pk(ACCOUNT), "sk": campaign_sk("spring")})
    remediation.run_to_confirmation(rid)
    confirm_delete(remediation.services, rid, 2)

    record = remediation.run_after_confirmation(rid)

    assert (record.status, record.requeue) == (RemediationStatus.DONE, "campaign_missing")
    assert requeue_mark(remediation.cloud.table, ACCOUNT, "spring") is None


def test_a_failed_remediation_keeps_what_it_did_and_a_retry_resumes_where_it_stopped(
    remediation: RemediationCloud,
) -> None:
    # Given a remediation whose delete ran, then whose clean failed after its retries
    remediation.cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-07-01")
    remediation.declined(people(3, last_open=RECENT))
    rid = lifecycle.start(remediation.services, ACCOUNT, request_id="r-1").remediation_id
    remediation.run_to_confirmation(rid)
    confirm_delete(remediation.services, rid, 3)
    remediation.step("verify_export", rid)
    remediation.loop("delete", rid)
    cause = '{"errorMessage": "bob@example.com broke it", "errorType": "KeyError"}'
    remediation.step("fail", rid, error={"Error": "KeyError", "Cause": cause})

    # Then it is failed, says where and why (never the error's text), and tells the customer once
    failed = remediation.record(rid)
    assert (failed.status, failed.resume_status) == (RemediationStatus.FAILED, RemediationStatus.CLEANING)
    assert failed.error == "it stopped while cleaning (KeyError); nothing is lost: retry it"
    notes = list(NotificationStore(remediation.cloud.table).list(ACCOUNT))
    assert [n.event_type for n in notes].count(EventType.REMEDIATION_FAILED) == 1
    assert "listguard remediate retry" in notes[0].text

    # When it is retried
    retried = lifecycle.retry(remediation.services, rid)

    # Then a new execution (attempt 2) resumes at the clean, and the old execution's steps stop
    assert (retried.status, retried.attempt, retried.execution_name) == (
        RemediationStatus.CLEANING,
        2,
        f"{rid}-a2",
    )
    with pytest.raises(RemediationSupersededError):
        remediation.step("clean", rid, attempt=1)
    # And the new attempt runs every step again: the done ones change nothing
    remediation.step("begin", rid)
    remediation.loop("segment", rid)
    remediation.step("export", rid)
    remediation.step("await_confirmation", rid, token="token-2")
    done = remediation.run_after_confirmation(rid)
    assert done.status is RemediationStatus.DONE
    assert (done.deleted.deleted, done.clean.kept if done.clean else None) == (3, 3)
    names = [
        e["name"]
        for e in remediation.cloud.sfn.list_executions(
            stateMachineArn=remediation.services.state_machine_arn
        )["executions"]
    ]
    assert sorted(names) == [rid, f"{rid}-a2"]


def test_show_tells_the_status_the_step_what_it_awaits_the_count_and_the_export(
    remediation: RemediationCloud,
) -> None:
    remediation.declined(people(4, last_open=RECENT))
    rid = lifecycle.start(remediation.services, ACCOUNT, request_id="r-1").remediation_id
    remediation.run_to_confirmation(rid)

    document = lifecycle.describe(remediation.record(rid))

    assert {key: document[key] for key in ("status", "step", "awaiting", "count")} == {
        "status": "awaiting_confirmation",
        "step": "confirm_delete",
        "awaiting": "delete_confirmation",
        "count": 4,
    }
    assert document["export"]["export_id"] == "exp-" + rid.removeprefix("rem-")
    assert document["export"]["rows"] == 4 and document["export"]["separator"] == "comma"
