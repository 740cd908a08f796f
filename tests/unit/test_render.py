"""Every event type renders to a subject, a text part and an escaped HTML part (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from listguard.domain import EventType
from listguard.notify import render

SAMPLE: dict[str, Any] = {
    "account_id": "acme",
    "import_id": "leads <2026>",
    "rows": 1200,
    "new_contacts": 1200,
    "existing_contacts": 0,
    "rule": "a verification check is required from 1,000 new contacts",
    "reasons": ["predicted bounce rate 14.0% is at least 10%"],
    "smaller_than": 1000,
    "deadline": "2026-12-07T12:00:00+00:00",
    "why": "you cancelled it",
    "contacts": 1150,
    "questions": ["Where does this list come from?"],
    "note": "answers check out",
    "reason": "the check could not finish",
    "standing": "under_review",
    "standing_label": "under review",
    "consequence": "Each new import is held until an operator reviews it.",
    # -- remediation --
    "remediation_id": "rem-0123456789abcdef01234567",
    "export_id": "exp-0123456789abcdef01234567",
    "count": 2431,
    "link": "https://exports.example/export.csv?X-Amz-Expires=43200",
    "link_expires_at": "2026-12-01T00:00:00+00:00",
    "deleted": 2400,
    "left_changed": 31,
    "already_gone": 0,
    "kept": 1800,
    "removed_lines": ["350 a disposable address (disposable)"],
    "reimport_import_id": "clean-rem-0123456789abcdef01234567",
    "reimport_skipped": "",
    "requeue": "marked",
    # campaign_paused
    "campaign_id": "c-0123456789ab",
    "subject": "Spring <sale>",
    "sample_sent": 500,
    "held": 4200,
    "check_import_id": "c-0123456789ab-check-1",
}


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_renders(event_type: EventType) -> None:
    email = render(event_type, SAMPLE)
    assert email.subject and "\n" not in email.subject
    assert "Hello acme," in email.text
    assert email.html.startswith("<!DOCTYPE html>")
    # The HTML part escapes what it is given; the text part is plain text
    if "import_id" in email.text or "leads" in email.text:
        assert "leads <2026>" not in email.html


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="undefined"):
        render(EventType.IMPORT_VALIDATED, {"account_id": "acme", "import_id": "x"})
