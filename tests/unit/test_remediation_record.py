"""A remediation's record (no AWS): statuses in one order, the step it is at, and a failure's reason
that never quotes what an error said unless listguard wrote it."""

from __future__ import annotations

import json

import pytest

from listguard.domain.remediation import Remediation, RemediationStatus
from listguard.flows.remediation.lifecycle import describe, failure_reason, step_of

RECORD = Remediation(
    remediation_id="rem-0",
    account="acme",
    request_id="r",
    status=RemediationStatus.DELETING,
    execution_name="rem-0",
    requested_at="2026-11-30T12:00:00+00:00",
)


def test_statuses_move_in_one_order_and_the_resting_ones_are_final() -> None:
    order = [
        "started",
        "segmenting",
        "exporting",
        "awaiting_confirmation",
        "deleting",
        "cleaning",
        "finishing",
        "done",
    ]
    assert [RemediationStatus(s).rank for s in order] == sorted(RemediationStatus(s).rank for s in order)
    assert {s for s in RemediationStatus if s.final} == {
        RemediationStatus.DONE,
        RemediationStatus.NOTHING_TO_DO,
        RemediationStatus.TIMED_OUT,
        RemediationStatus.FAILED,
    }


@pytest.mark.parametrize(
    ("status", "resume", "step"),
    [
        ("segmenting", None, "segment"),
        ("awaiting_confirmation", None, "confirm_delete"),
        ("finishing", None, "reimport"),
        ("failed", "cleaning", "clean"),
        ("timed_out", None, "confirm_delete"),
    ],
)
def test_the_step_a_remediation_is_at(status: str, resume: str | None, step: str) -> None:
    record = RECORD.model_copy(update={"status": RemediationStatus(status), "resume_status": resume})
    assert step_of(record) == step


def test_a_failure_names_where_it_stopped_and_only_listguards_own_words() -> None:
    ours = json.dumps({"errorMessage": "the export exp-0 of remediation rem-0 is gone", "errorType": "x"})
    theirs = json.dumps({"errorMessage": "bob@example.com not found", "errorType": "KeyError"})

    assert failure_reason(RECORD, "ExportMissingError", ours) == (
        "it stopped while deleting: the export exp-0 of remediation rem-0 is gone"
    )
    assert failure_reason(RECORD, "KeyError", theirs) == (
        "it stopped while deleting (KeyError); nothing is lost: retry it"
    )
    assert "bob" not in failure_reason(RECORD, "ClientError", "not json")


def test_show_has_the_fields_the_console_promises() -> None:
    document = describe(RECORD.model_copy(update={"count": 12}))

    assert {"status", "step", "awaiting", "count", "export", "execution_id"} <= set(document)
    assert (document["status"], document["step"], document["awaiting"], document["count"]) == (
        "deleting",
        "delete",
        None,
        12,
    )
