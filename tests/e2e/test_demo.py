"""`listguard demo` tells the whole import story on the local cloud (small lists, to stay quick)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from listguard_console.cli import app

pytestmark = pytest.mark.e2e


def test_the_demo_validates_declines_remediates_and_reviews_an_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a check from 100 new contacts (the stack's parameter, from the environment as the demo reads it),
    # an own list of 200, a bought list of 300 (each needs a check, and so does its clean list), and a
    # borderline list
    monkeypatch.setenv("LISTGUARD_CHECK_MIN_NEW_CONTACTS", "100")

    # When the demo runs with --json
    result = CliRunner().invoke(app, ["demo", "--existing", "200", "--contacts", "300", "--json"])

    # Then it tells what really happened on the local AWS
    assert result.exit_code == 0, result.output
    # (the last line: a handler module kept warm by an earlier test of this process may log at INFO)
    story = json.loads(result.stdout.splitlines()[-1])
    own, bought, clean, borderline = story["imports"]
    assert (own["outcome"], own["status"]) == ("validated", "validated")
    assert (bought["outcome"], bought["status"]) == ("declined", "declined")
    assert (borderline["outcome"], borderline["status"]) == ("manual_review", "validated")
    assert borderline["reviewed_by"] == "ops-alex" and borderline["answers"]["source"]
    # And the declined contacts were read back from DynamoDB
    assert {contact["flag_status"] for contact in story["flagged_sample"]} == {"declined"}
    # And the declined list was remediated: exported, deleted after the typed count, cleaned, and its
    # clean list reimported through the import flow, and validated
    remediation = story["remediation"]
    assert (remediation["status"], remediation["count"]) == ("done", bought["contacts_written"])
    assert remediation["deleted"]["deleted"] == remediation["count"]
    assert remediation["clean"]["removed"] and remediation["clean"]["kept"] == clean["rows"]
    assert (
        clean["import_id"] == remediation["reimport"]["import_id"] == f"clean-{remediation['remediation_id']}"
    )
    assert (clean["outcome"], clean["status"]) == ("validated", "validated")
    # And the customer was told each step by email, and integrations on SNS, in order
    assert story["emails"] == 11
    events = [event["event_type"] for event in story["flag_events"]]
    assert events[:5] == [
        "check_required",
        "import_validated",
        "check_required",
        "import_declined",
        "export_ready",
    ]
    # (the clean list's check starts on its own execution while the remediation finishes: either is first)
    assert sorted(events[5:7]) == ["check_required", "remediation_finished"]
    assert events[7:] == ["import_validated", "check_required", "import_in_review", "review_validated"]
    assert story["standing"] == "good"
    # And the campaign chapters: a new customer's first campaign is sampled, paused by its bounces, its
    # held contacts checked and remediated, and the requeue sends it to the clean ones, nobody twice
    campaign = story["campaign"]
    assert campaign["decision"] == "pause"
    assert campaign["sample"]["hard_bounces"] > 0 and campaign["sample"]["complaints"] == 1
    # (a check is required from 100 new contacts here: the held ones need one, and it declines them)
    assert campaign["check"]["status"] in ("imported", "declined", "in_review")
    cleanup = campaign["remediation"]
    assert cleanup["status"] == "done" and cleanup["campaign"]["id"] == campaign["campaign_id"]
    assert cleanup["export"]["rows"] == cleanup["count"] == cleanup["deleted"]["deleted"] > 0
    assert campaign["requeue"]["sent"] > 0 and campaign["requeue"]["status"] == "sent"
    assert campaign["status"] == "sent"
    assert campaign["emails"] == campaign["distinct_recipients"] == campaign["sent"]
    assert campaign["sent_by_phase"] == {
        "sample": campaign["sample"]["sent"],
        "requeue": campaign["requeue"]["sent"],
    }
