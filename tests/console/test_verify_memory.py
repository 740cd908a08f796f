"""`listguard verify` (worker processes included) keeps its memory bounded on hostile rows.

Measured as the peak resident memory of the largest process of the command's tree (the command and
its workers), by a small wrapper process whose only children they are.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from verify_helpers import LISTGUARD

MB = 1_000_000
# The wrapper: runs the command, then prints the largest resident size (KiB) among its descendants.
PEAK_OF = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
#: What a hostile row may add to the peak of a one-row file: far below the row's 16 MB.
EXTRA_LIMIT_MB = 40


def peak_mb(path: Path) -> float:
    command = [sys.executable, "-c", PEAK_OF, str(LISTGUARD), "verify", str(path), "--json"]
    finished = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    return int(finished.stdout) * 1024 / MB


def write_hostile(path: Path, row_start: bytes, fill: bytes) -> Path:
    """A good row, 16 MB of one hostile row (enough for the command to start its workers), a good row."""
    with open(path, "wb") as f:
        f.write(b"email,name\nann@example.com,Ann\n" + row_start)
        chunk = fill * (MB // len(fill))
        for _ in range(16):
            f.write(chunk)
        f.write(b"\nbob@example.com,Bob\n")
    return path


@pytest.mark.parametrize(
    ("row_start", "fill"),
    [(b"carl@example.com,", b"x,"), (b'carl@example.com,"', b"x" * 999 + b"\n")],
    ids=["16-million-fields", "quoted-field-that-never-closes"],
)
def test_hostile_row_adds_little_to_the_peak(tmp_path: Path, row_start: bytes, fill: bytes) -> None:
    # Given a 16 MB hostile row, and a one-row file to compare with
    hostile = write_hostile(tmp_path / "hostile.csv", row_start, fill)
    small = tmp_path / "small.csv"
    small.write_text("email\nann@example.com\n")
    # When each is verified by the command (which checks the 16 MB file in worker processes)
    baseline, peak = peak_mb(small), peak_mb(hostile)
    # Then the hostile row adds a few MB at most to the largest process
    assert peak - baseline < EXTRA_LIMIT_MB, f"peak {peak:.0f} MB against {baseline:.0f} MB for one row"
