"""The README's console example is a promise: its bash block runs as written against a served local AWS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def readme_block(marker: str) -> list[str]:
    """The lines of the README's bash block that contains ``marker``."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return [line for line in block.splitlines() if line.strip()]


def test_the_console_example_runs_as_written(tmp_path: Path, free_port: int) -> None:
    # Given the README's block, on a free port, and a small leads.csv in the working directory
    script = "\n".join(readme_block("export LISTGUARD_ENDPOINT_URL")).replace("4566", str(free_port))
    (tmp_path / "leads.csv").write_text("email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LISTGUARD_", "AWS_"))}

    # When bash runs it (the server it starts in the background is stopped afterwards)
    run = subprocess.Popen(
        ["bash", "-c", f"set -e\n{script}\nkill %1"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)

    # Then every command succeeded, and the import was checked and listed
    assert run.returncode == 0, out + err
    assert "uploaded leads.csv as import leads of acme (status: imported)" in out
    assert "ann@example.com" in out and "bob@example.com" in out
