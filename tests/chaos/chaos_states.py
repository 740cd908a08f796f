"""Hand-made end states for the harness's own tests: an account, its contacts, imports and notices."""

from __future__ import annotations

from typing import Any

from listguard_console.chaos.state import State

ACCOUNT = "acme"
OWNER = "owner@acme.example"


def contact(
    address: str, flag: str = "none", *, subscription: str = "subscribed", import_id: str = "list"
) -> tuple[str, dict[str, Any]]:
    return (
        f"ACCOUNT#{ACCOUNT}|CONTACT#{address}",
        {
            "type": "contact",
            "account": ACCOUNT,
            "email": address,
            "email_key": address,
            "flag_status": flag,
            "subscription_status": subscription,
            "import_id": import_id,
        },
    )


def import_record(import_id: str, status: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return (
        f"ACCOUNT#{ACCOUNT}|IMPORT#{import_id}",
        {"type": "import", "account": ACCOUNT, "import_id": import_id, "status": status, **fields},
    )


def notification(notification_id: str, event_type: str, import_id: str) -> tuple[str, dict[str, Any]]:
    return (
        f"ACCOUNT#{ACCOUNT}|NOTE#{notification_id}",
        {
            "type": "notification",
            "account_id": ACCOUNT,
            "notification_id": notification_id,
            "event_type": event_type,
            "data": {"import_id": import_id},
        },
    )


def profile() -> tuple[str, dict[str, Any]]:
    return f"ACCOUNT#{ACCOUNT}|PROFILE", {"type": "profile", "account": ACCOUNT, "email": OWNER}


def email(notification_id: str, subject: str, to: str = OWNER) -> dict[str, Any]:
    return {"to": to, "subject": subject, "notification": notification_id, "text": f"about {subject}"}


def published(notification_id: str) -> dict[str, Any]:
    return {"topic": "FlagTopic", "attributes": {}, "message": {"notification_id": notification_id}}


def state(
    *items: tuple[str, dict[str, Any]],
    emails: list[dict[str, Any]] | None = None,
    messages: list[dict[str, Any]] | None = None,
    executions: list[str] | None = None,
) -> State:
    return State(
        items=dict([profile(), *items]),
        emails=list(emails or []),
        messages=list(messages or []),
        executions=list(executions or []),
    )
