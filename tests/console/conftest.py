"""Fixtures that run `listguard verify` as a user would: in-process (CliRunner, fast) or as a real process."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner
from verify_helpers import LISTGUARD, Run, RunVerify

from listguard_console.cli import app


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
