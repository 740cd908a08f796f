"""`listguard verify`: what a user sees: exit codes, the JSON report, the rows file, the error lines."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from verify_helpers import LISTGUARD, RunVerify, contact_csv, valid_addresses

from listguard.verification import Batch, Outcome, Verdict, Verification

REPORT_KEYS = {
    "rows",
    "verdicts",
    "rates",
    "predicted_bounce_rate",
    "new_contacts",
    "existing_contacts",
    "verification_required",
    "outcome",
    "reasons",
    "encoding",
    "windows_1252_lines",
    "separator",
    "email_column",
}


def read_rows_file(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def assert_one_error_line(stderr: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr


# -- files that are processed: exit 0 whatever the outcome --------------------------------------


def test_json_report_holds_every_verdict_and_the_file_facts(
    tmp_path: Path, verify_command: RunVerify
) -> None:
    # Given a small, clean contact file
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(7))

    # When it is verified with --json
    result = verify_command(contacts, "--json")

    # Then stdout is one JSON object with every verdict name and the file's facts
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report.keys() >= REPORT_KEYS
    assert set(report["verdicts"]) == {verdict.value for verdict in Verdict}
    assert report["rows"] == 7
    assert report["verdicts"]["valid"] == 7
    assert (report["encoding"], report["separator"], report["email_column"]) == ("utf-8", ",", "email")
    assert report["outcome"] == Outcome.VALIDATED
    assert report["reasons"] and report["reasons"][0]["rule"] == "predicted_bounce_rate"


def test_lines_read_as_windows_1252_are_counted_in_both_reports(
    tmp_path: Path, verify_command: RunVerify
) -> None:
    # Given a UTF-8 file with one line written by a Windows tool
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes("email,name\njosé@example.com,José\n".encode() + b"ann@example.com,Ren\xe9e\n")

    # When it is verified, as JSON and for a person
    as_json = verify_command(contacts, "--json")
    readable = verify_command(contacts)

    # Then both say the file is UTF-8 and that one line was read as Windows-1252
    report = json.loads(as_json.stdout)
    assert (report["encoding"], report["windows_1252_lines"]) == ("utf-8", 1)
    assert "1 line not valid UTF-8, read as Windows-1252" in readable.stdout


def test_a_dirty_file_is_declined_and_still_exits_0(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a file where a third of the addresses are broken
    emails = [*valid_addresses(6), "no-at-sign.example.com", "two@@example.com", "n/a"]
    contacts = contact_csv(tmp_path / "dirty.csv", emails)

    # When it is verified
    result = verify_command(contacts, "--json")

    # Then the check declines it, names the rule, and the command still succeeds
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outcome"] == Outcome.DECLINED
    assert report["verdicts"]["invalid_syntax"] == 3
    reason = report["reasons"][0]
    assert reason["rule"] == "predicted_bounce_rate"
    assert reason["value"] >= reason["threshold"]


def test_existing_contacts_decide_whether_a_check_is_required(
    tmp_path: Path, verify_command: RunVerify
) -> None:
    # Given 1,200 new contacts (at least the 1,000 the rule asks for)
    contacts = contact_csv(tmp_path / "big.csv", valid_addresses(1_200))

    # When the list is empty, or already holds 10,000 contacts (1,200 is under 25% of them)
    into_empty_list = json.loads(verify_command(contacts, "--json").stdout)
    into_big_list = json.loads(verify_command(contacts, "--json", "--existing-contacts", "10000").stdout)

    # Then only the import into the empty list needs a check
    assert into_empty_list["verification_required"] is True
    assert into_big_list["verification_required"] is False
    assert into_big_list["existing_contacts"] == 10_000


def test_blocklist_file_marks_its_addresses_blocklisted(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a blocklist with a comment, a blank line, a plain address and a CSV line
    contacts = contact_csv(
        tmp_path / "contacts.csv", ["kept@example.com", "Gone@Example.com", "also@example.org"]
    )
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_text(
        "# unsubscribed last year\n\ngone@example.com\nalso@example.org,complaint,2024-01-02\n"
    )

    # When the file is verified with that blocklist
    result = verify_command(contacts, "--json", "--blocklist", blocklist, "--rows-out", tmp_path / "rows.csv")

    # Then both listed addresses are blocklisted, whatever their case, and the other one is valid
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["verdicts"]["blocklisted"] == 2
    verdicts = {row["email"]: row["verdict"] for row in read_rows_file(tmp_path / "rows.csv")}
    assert verdicts == {
        "kept@example.com": "valid",
        "Gone@Example.com": "blocklisted",
        "also@example.org": "blocklisted",
    }


def test_blocklist_exported_as_csv_uses_its_email_column(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a blocklist exported from another tool: a header row, the address in the second column
    contacts = contact_csv(tmp_path / "contacts.csv", ["kept@example.com", "gone@example.com"])
    blocklist = tmp_path / "export.csv"
    blocklist.write_text('name,Email,reason\n"Lee, Ann",gone@example.com,hard bounce\n')

    # When the file is verified with that blocklist
    result = verify_command(contacts, "--json", "--blocklist", blocklist)

    # Then only the exported address is blocklisted
    assert result.exit_code == 0, result.stderr
    verdicts = json.loads(result.stdout)["verdicts"]
    assert (verdicts["blocklisted"], verdicts["valid"]) == (1, 1)


def test_require_consent_flags_rows_without_an_opt_in(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given two contacts, one without an opt-in
    contacts = contact_csv(
        tmp_path / "contacts.csv", ["yes@example.com", "silent@example.com"], opt_ins=["yes", ""]
    )

    # When verified with and without --require-consent
    without_flag = json.loads(verify_command(contacts, "--json").stdout)
    with_flag = json.loads(verify_command(contacts, "--json", "--require-consent").stdout)

    # Then only the flag turns the row without opt-in into missing_consent
    assert without_flag["verdicts"]["missing_consent"] == 0
    assert with_flag["verdicts"]["missing_consent"] == 1
    assert with_flag["verdicts"]["valid"] == 1


def test_rows_file_has_one_line_per_data_row_numbered_from_1(
    tmp_path: Path, verify_command: RunVerify
) -> None:
    # Given a file with a typo domain, a duplicate, an invalid address holding a comma and a quote
    emails = [
        "ann@example.com",
        "bob@yahho.com",
        "ANN@example.com",
        '"odd, ""one""@example.com"',
        "cy@example.com",
    ]
    contacts = contact_csv(tmp_path / "contacts.csv", emails)
    rows_out = tmp_path / "out" / "rows.csv"
    rows_out.parent.mkdir()

    # When verified with --rows-out
    result = verify_command(contacts, "--rows-out", rows_out, "--json")

    # Then the rows file has the header, one row per data row numbered 1.., and a suggestion for the typo
    assert result.exit_code == 0, result.stderr
    with open(rows_out, encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == ["row", "email", "verdict", "reason", "suggestion"]
    rows = read_rows_file(rows_out)
    assert [row["row"] for row in rows] == ["1", "2", "3", "4", "5"]
    by_row = {int(row["row"]): row for row in rows}
    assert by_row[1]["verdict"] == "valid"
    assert by_row[2]["verdict"] == "typo_domain"
    assert by_row[2]["suggestion"] == "bob@yahoo.com"
    assert by_row[3]["verdict"] == "duplicate"
    assert by_row[4]["email"] == 'odd, "one"@example.com'  # quoted properly, read back intact
    assert by_row[4]["verdict"] == "invalid_syntax"
    assert all(row["reason"] for row in rows if row["verdict"] != "valid")
    # And nothing but the rows file is left in its directory (no temporary file)
    assert [p.name for p in rows_out.parent.iterdir()] == ["rows.csv"]


def test_readable_report_names_the_outcome_and_the_rule(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a dirty file
    contacts = contact_csv(tmp_path / "contacts.csv", ["ok@example.com", "broken", "x@mailinator.com"])

    # When verified without --json
    result = verify_command(contacts)

    # Then the report shows the counts, the file facts, the check, the outcome and the rule
    assert result.exit_code == 0, result.stderr
    for expected in ("invalid_syntax", "disposable", "email column", "utf-8", "comma", "declined"):
        assert expected in result.stdout
    assert "predicted_bounce_rate" in result.stdout
    assert "verification check" in result.stdout
    assert result.stderr == ""


# -- unusable files and bad input: exit 2, one error line, nothing left behind ----------------------


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as workbook:
        workbook.writestr("[Content_Types].xml", "<Types/>")
        workbook.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buffer.getvalue()


UNUSABLE_FILES = {
    "empty": b"",
    "nul bytes": b"email\n\x00\x00\x01\x02\x00binary\x00\n",
    "png image": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "no email column": b"name,phone\nAnn,555-0100\nBob,555-0101\n",
    "gzip renamed .csv": gzip.compress(b"email\nann@example.com\n"),
    "xlsx renamed .csv": _xlsx_bytes(),
}


@pytest.mark.parametrize("content", UNUSABLE_FILES.values(), ids=UNUSABLE_FILES.keys())
def test_unusable_file_exits_2_with_one_error_line_and_no_rows_file(
    tmp_path: Path, verify_command: RunVerify, content: bytes
) -> None:
    # Given a file named .csv that is no usable contact list
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes(content)
    rows_dir = tmp_path / "out"
    rows_dir.mkdir()

    # When verified with --json and --rows-out
    result = verify_command(contacts, "--json", "--rows-out", rows_dir / "rows.csv")

    # Then: exit 2, one error line naming the file, nothing on stdout, nothing half-written
    assert result.exit_code == 2
    assert_one_error_line(result.stderr)
    assert "contacts.csv" in result.stderr
    assert result.stdout == ""
    assert list(rows_dir.iterdir()) == []


def test_file_over_the_size_limit_is_unusable(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a limit of 100 bytes and a bigger file
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(20))

    # When verified
    result = verify_command(contacts, "--json", env={"LISTGUARD_MAX_FILE_BYTES": "100"})

    # Then it is refused with one line
    assert result.exit_code == 2
    assert_one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["missing.csv"], "not found"),
        (["."], "directory"),
        (["contacts.csv", "--blocklist", "no-such-blocklist.txt"], "blocklist"),
        (["contacts.csv", "--rows-out", "no-such-dir/rows.csv"], "rows file"),
        (["contacts.csv", "--rows-out", "contacts.csv"], "contact file itself"),
    ],
    ids=[
        "missing file",
        "directory",
        "missing blocklist",
        "rows-out in a missing directory",
        "rows-out = input",
    ],
)
def test_bad_paths_exit_2_with_one_error_line(
    tmp_path: Path, verify_command: RunVerify, monkeypatch: pytest.MonkeyPatch, args: list[str], mentions: str
) -> None:
    # Given a valid contact file in the working directory
    monkeypatch.chdir(tmp_path)
    original = contact_csv(tmp_path / "contacts.csv", valid_addresses(3)).read_bytes()

    # When a path given to the command is wrong
    result = verify_command(*args)

    # Then one error line says which, and the contact file is untouched
    assert result.exit_code == 2
    assert_one_error_line(result.stderr)
    assert mentions in result.stderr
    assert (tmp_path / "contacts.csv").read_bytes() == original


def test_invalid_setting_in_the_environment_exits_2(tmp_path: Path, verify_command: RunVerify) -> None:
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))

    result = verify_command(contacts, env={"LISTGUARD_MAX_FILE_BYTES": "lots"})

    assert result.exit_code == 2
    assert_one_error_line(result.stderr)
    assert "LISTGUARD_MAX_FILE_BYTES" in result.stderr


def test_negative_existing_contacts_is_a_usage_error(tmp_path: Path, verify_command: RunVerify) -> None:
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))

    result = verify_command(contacts, "--existing-contacts", "-5")

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


# -- Ctrl-C: exit 130, one line, no rows file --------------------------------------------------------


def test_ctrl_c_exits_130_and_leaves_no_rows_file(
    tmp_path: Path, verify_command: RunVerify, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verification interrupted after its first batch
    real_batches = Verification.batches

    def interrupted_batches(self: Verification) -> Iterator[Batch]:
        yield next(iter(real_batches(self)))
        raise KeyboardInterrupt

    monkeypatch.setattr(Verification, "batches", interrupted_batches)
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(10))
    rows_dir = tmp_path / "out"
    rows_dir.mkdir()

    # When the user presses Ctrl-C
    result = verify_command(contacts, "--rows-out", rows_dir / "rows.csv")

    # Then: exit 130, one line, and neither the rows file nor its temporary file remains
    assert result.exit_code == 130
    assert_one_error_line(result.stderr)
    assert list(rows_dir.iterdir()) == []


def test_an_existing_rows_file_survives_a_failed_run(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given the rows file of an earlier run, and now an unusable input
    rows_out = tmp_path / "rows.csv"
    rows_out.write_text("row,email,verdict,reason,suggestion\n1,a@example.com,valid,,\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    # When the unusable file is verified into the same rows file
    result = verify_command(empty, "--rows-out", rows_out)

    # Then the earlier rows file is intact (it is only ever replaced whole)
    assert result.exit_code == 2
    assert rows_out.read_text().endswith("1,a@example.com,valid,,\n")


# -- the installed command, as a real process --------------------------------------------------------


def test_installed_command_writes_json_and_rows(tmp_path: Path, verify_subprocess: RunVerify) -> None:
    contacts = contact_csv(tmp_path / "contacts.csv", [*valid_addresses(4), "info@example.com"])

    result = verify_subprocess(contacts, "--json", "--rows-out", tmp_path / "rows.csv")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["verdicts"]["role_account"] == 1
    assert len(read_rows_file(tmp_path / "rows.csv")) == 5


def test_installed_command_refuses_a_gzip_file_without_traceback(
    tmp_path: Path, verify_subprocess: RunVerify
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes(gzip.compress(b"email\nann@example.com\n"))

    result = verify_subprocess(contacts, "--json", env={**os.environ, "COLUMNS": "80"})

    assert result.exit_code == 2
    assert_one_error_line(result.stderr)
    assert result.stdout == ""


def test_installed_command_on_ctrl_c_exits_130_and_removes_its_temporary_file(tmp_path: Path) -> None:
    # Given a run over a file big enough to still be running when the user presses Ctrl-C
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(400_000))
    rows_dir = tmp_path / "out"
    rows_dir.mkdir()
    process = subprocess.Popen(
        [str(LISTGUARD), "verify", str(contacts), "--rows-out", str(rows_dir / "rows.csv")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background jobs ignore SIGINT; a terminal's foreground job does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not list(rows_dir.iterdir()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the temporary rows file appears once the check is under way

    # When Ctrl-C arrives while it writes
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    # Then: exit 130, one line, and no file at all in the output directory
    assert process.returncode == 130, stderr
    assert_one_error_line(stderr)
    assert list(rows_dir.iterdir()) == []
