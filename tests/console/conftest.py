"""Helpers to run `listguard verify` as a user would: in-process (CliRunner, fast) or as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listguard_console.cli import app

#: The installed console script, next to the test run's Python (the venv's bin/).
LISTGUARD = Path(sys.executable).parent / "listguard"


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


RunVerify = Callable[..., Run]


@pytest.fixture
def verify_command() -> RunVerify:
    """`listguard verify ARGS`, in-process: exit code, stdout and stderr kept apart."""

    def run(*args: str | Path, env: Mapping[str, str] | None = None) -> Run:
        result = CliRunner().invoke(app, ["verify", *map(str, args)], env=env)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def verify_subprocess() -> RunVerify:
    """`listguard verify ARGS` as a real process, the installed console script."""

    def run(*args: str | Path, env: Mapping[str, str] | None = None) -> Run:
        command: Sequence[str] = [str(LISTGUARD), "verify", *map(str, args)]
        finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        return Run(finished.returncode, finished.stdout, finished.stderr)

    return run


def contact_csv(path: Path, emails: Sequence[str], *, opt_ins: Sequence[str] | None = None) -> Path:
    """A contact file with an email column, a name and an opt-in column (yes unless told)."""
    consent = opt_ins if opt_ins is not None else ["yes"] * len(emails)
    lines = ["email,first_name,opt_in"]
    lines += [f"{email},Name{n},{given}" for n, (email, given) in enumerate(zip(emails, consent, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def valid_addresses(count: int, domain: str = "example.com") -> list[str]:
    return [f"person{n}@{domain}" for n in range(count)]
