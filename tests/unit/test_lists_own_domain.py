"""`listguard verify --own-domain`: the account's own domains are never flagged disposable or typo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from listguard_console.cli import app


def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email\nann@mailinator.com\nbob@gmial.com\ncid@yopmail.com\n")
    return path


def test_own_domains_are_never_flagged(tmp_path: Path) -> None:
    # Given a file with addresses on a disposable-listed domain and a typo domain the account owns
    rows_file = tmp_path / "rows.csv"
    # When verified with both marked as the account's own (one written "@Mailinator.com")
    result = CliRunner().invoke(
        app,
        [
            "verify",
            str(contacts(tmp_path)),
            "--own-domain",
            "@Mailinator.com",
            "--own-domain",
            "gmial.com",
            "--json",
            "--rows-out",
            str(rows_file),
        ],
    )
    # Then their rows are valid, without a suggestion; other domains are checked as always
    assert result.exit_code == 0, result.output
    with open(rows_file, newline="") as f:
        verdicts = [(row["email"], row["verdict"], row["suggestion"]) for row in csv.DictReader(f)]
    assert verdicts == [
        ("ann@mailinator.com", "valid", ""),
        ("bob@gmial.com", "valid", ""),
        ("cid@yopmail.com", "disposable", ""),
    ]
    assert json.loads(result.stdout)["verdicts"]["disposable"] == 1


def test_a_value_that_is_no_domain_is_one_error_line(tmp_path: Path) -> None:
    # Given an --own-domain value that is an address, not a domain / When verified
    result = CliRunner().invoke(app, ["verify", str(contacts(tmp_path)), "--own-domain", "ann@acme.com"])
    # Then exit 2 and one line that says what is wrong and what to give instead
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --own-domain 'ann@acme.com' is not a domain name; give one such as acme.com"
    ]
