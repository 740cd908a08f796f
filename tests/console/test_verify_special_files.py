"""`listguard verify` with files that are not plain files: one `error:` line and exit 2 when it cannot
use them, never a traceback; --rows-out writes into a pipe, a device or a link, never replaces them.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from verify_helpers import LISTGUARD, RunVerify, contact_csv, valid_addresses

from listguard.verification import REPORT_HEADER


def assert_one_error_line(stderr: str, mentions: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert mentions in lines[0], stderr


def run_installed(
    *args: str | Path, stdout: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LISTGUARD), "verify", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )


# -- inputs that cannot be read -------------------------------------------------------------------


def test_unreadable_contact_file_is_one_error_line() -> None:
    # Given a file that opens but fails on read (/proc/self/mem: an I/O error at offset 0)
    # When it is verified
    result = run_installed("/proc/self/mem", "--json")
    # Then: exit 2, one line naming the file and the error, nothing on stdout
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "cannot read the contact file /proc/self/mem")
    assert result.stdout == ""


def test_endless_blocklist_is_refused_at_its_limit(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a blocklist that never ends (/dev/zero)
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    # When it is used / Then it is read up to the blocklist limit only, and refused in one line
    result = verify_command(contacts, "--blocklist", "/dev/zero")
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "over the 50 MB limit of a blocklist")


def test_blocklist_with_a_windows_1252_line_matches_it(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a UTF-8 blocklist with one line written by a Windows tool
    contacts = contact_csv(tmp_path / "contacts.csv", ["josé@example.com", "renée@example.com"])
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_bytes("josé@example.com\n".encode() + b"ren\xe9e@example.com\n")
    # When it is used / Then both addresses are blocklisted
    result = verify_command(contacts, "--blocklist", blocklist, "--json")
    assert result.exit_code == 0, result.stderr
    assert '"blocklisted": 2' in result.stdout


# -- outputs that cannot be written ------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "readable"])
def test_report_to_a_full_device_is_one_error_line(tmp_path: Path, as_json: bool) -> None:
    # Given stdout on a device that is always full (/dev/full)
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    with open("/dev/full", "w") as full:
        # When the report is printed
        result = run_installed(contacts, *(["--json"] if as_json else []), stdout=full.fileno())
    # Then: exit 2, one line, and no second complaint when the interpreter exits
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "cannot write the report to standard output")


# -- --rows-out into what is not a plain file -------------------------------------------------


def test_rows_out_into_a_fifo_writes_into_it(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a FIFO with a reader on the other end
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes().decode()))
    reader.start()
    # When the rows go to it
    result = verify_command(contacts, "--rows-out", fifo)
    reader.join(timeout=60)
    # Then the reader gets them, and the FIFO is still a FIFO
    assert result.exit_code == 0, result.stderr
    assert received and received[0].startswith(REPORT_HEADER)
    assert received[0].count("\r\n") == 4
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_rows_out_through_a_symlink_replaces_the_file_it_points_to(
    tmp_path: Path, verify_command: RunVerify
) -> None:
    # Given a symbolic link to an earlier rows file in another directory
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "rows.csv"
    target.write_text("old\n")
    link = tmp_path / "rows.csv"
    link.symlink_to(target)
    # When the rows go to the link
    result = verify_command(contacts, "--rows-out", link)
    # Then the link stays a link, and the file it points to holds the new rows (and nothing else is left)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text().startswith(REPORT_HEADER.rstrip("\r\n"))
    assert sorted(path.name for path in target.parent.iterdir()) == ["rows.csv"]


def test_rows_out_into_a_character_device_writes_into_it(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a character device (a null device of our own; making one needs the right to)
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("no permission to make a device node here")
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    # When the rows go to it / Then it is written into and stays a device
    result = verify_command(contacts, "--rows-out", device)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["contacts.csv", "null"]


def test_rows_out_to_stdout_redirected_to_a_file_writes_into_that_file(tmp_path: Path) -> None:
    # Given stdout redirected to a file, and --rows-out /dev/stdout
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    out = tmp_path / "out.csv"
    with open(out, "w") as stdout:
        inode = os.fstat(stdout.fileno()).st_ino
        # When verified
        result = run_installed(contacts, "--rows-out", "/dev/stdout", "--json", stdout=stdout.fileno())
    # Then the rows are written into the open file (not beside it, not over it), the report after them
    assert result.returncode == 0, result.stderr
    assert out.stat().st_ino == inode
    text = out.read_text()
    assert text.startswith(REPORT_HEADER.rstrip("\r\n")) and '"rows": 3' in text


def test_rows_out_to_a_socket_is_refused(tmp_path: Path, verify_command: RunVerify) -> None:
    # Given a Unix socket where the rows file would go
    contacts = contact_csv(tmp_path / "contacts.csv", valid_addresses(3))
    path = tmp_path / "rows.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        # When the rows go there / Then it is refused in one line, and left as it is
        result = verify_command(contacts, "--rows-out", path)
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "give the path of a CSV file")
    assert stat.S_ISSOCK(path.stat().st_mode)
