"""`listguard demo` tells the main story on the local cloud (small lists, to stay quick)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from listguard_console.cli import app

pytestmark = pytest.mark.e2e


def test_the_demo_validates_the_clean_list_and_declines_the_bought_one() -> None:
    # Given a clean list of 1,000 and a bought list of 1,200 (both large enough to need a check)
    # When the demo runs with --json
    result = CliRunner().invoke(app, ["demo", "--existing", "1000", "--contacts", "1200", "--json"])

    # Then it tells what really happened on the local AWS
    assert result.exit_code == 0, result.output
    # (the last line: a handler module kept warm by an earlier test of this process may log at INFO)
    story = json.loads(result.stdout.splitlines()[-1])
    clean, bought = story["imports"]
    assert clean["summary"]["outcome"] == "validated"
    assert bought["summary"]["outcome"] == "declined"
    assert bought["summary"]["verification_required"] is True
    # And the flagged contacts were read back from DynamoDB, and the integration got the flag event
    assert story["flagged_sample"]
    assert {contact["flag_status"] for contact in story["flagged_sample"]} == {"declined"}
    assert [event["outcome"] for event in story["flag_events"]] == ["declined"]
