"""The console's stack commands on the local cloud: JSON on stdout, one `error:` line on failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from listguard_console.cli import app
from listguard_console.localcloud import LocalCloud
from listguard_console.stack import current

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.start(environment={"POWERTOOLS_LOG_LEVEL": "WARNING"}) as local, current(local):
        yield local


def ok(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def error(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_upload_then_show_list_and_blocklist(tmp_path: Path) -> None:
    # Given a small contact file
    leads = tmp_path / "leads.csv"
    leads.write_text("email,name\nann@example.com,Ann\nbob@example.com,Bob\n")

    # When it is uploaded, Then the import id comes back, and the check ran (no check needed: imported)
    uploaded = ok("imports", "upload", str(leads), "--account", "acme")
    assert uploaded == {
        "import_id": "leads",
        "account": "acme",
        "key": "imports/acme/leads.csv",
        "status": "imported",
    }
    shown = ok("imports", "show", "leads", "--account", "acme")
    assert (shown["status"], shown["outcome"]) == ("imported", None)
    assert shown["counts"]["rows"] == 2
    assert [i["import_id"] for i in ok("imports", "list", "--account", "acme")] == ["leads"]

    # When bob unsubscribes, Then he is blocklisted, and the lists say so
    assert (
        ok("contacts", "blocklist", "bob@example.com", "--account", "acme")["subscription"] == "blocklisted"
    )
    assert [
        c["email"] for c in ok("contacts", "list", "--account", "acme", "--subscription", "blocklisted")
    ] == ["bob@example.com"]
    assert len(ok("contacts", "list", "--account", "acme", "--limit", "1")) == 1


def test_accounts_and_notifications() -> None:
    assert ok("accounts", "set-email", "acme", "Owner@Acme.example")["email"] == "Owner@acme.example"
    account = ok("accounts", "show", "acme")
    assert (account["standing"], account["email"], account["audit"]) == ("good", "Owner@acme.example", [])
    assert ok("notifications", "list", "--account", "acme", "--unread") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["imports", "show", "nope", "--account", "acme"], "no import nope in account acme"),
        (["imports", "confirm", "nope", "--account", "acme"], "no import nope"),
        (["contacts", "list", "--account", "../x"], "account id '../x' is not allowed"),
        (["contacts", "list", "--account", "acme", "--flag", "red"], "use --flag pending|declined|none"),
        (["notifications", "read", "n-0", "--account", "acme"], "no notification n-0"),
        (["reviews", "decide", "x", "--account", "acme", "--note", "n"], "either --validate or --decline"),
        (["accounts", "set-email", "acme", "not-an-address"], "is not an address"),
        (["imports", "upload", "/nonexistent.csv", "--account", "acme"], "not a file"),
    ],
)
def test_bad_input_is_one_error_line(args: list[str], message: str) -> None:
    assert message in error(*args)
