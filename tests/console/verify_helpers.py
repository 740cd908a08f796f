"""Helpers for the console tests (a module of its own: test files do not import conftest)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The installed console script, next to the test run's Python (the venv's bin/).
LISTGUARD = Path(sys.executable).parent / "listguard"


@dataclass(frozen=True)
class Run:
    """What a user sees of one run: the exit code, stdout and stderr."""

    exit_code: int
    stdout: str
    stderr: str


RunVerify = Callable[..., Run]


def contact_csv(path: Path, emails: Sequence[str], *, opt_ins: Sequence[str] | None = None) -> Path:
    """A contact file with an email column, a name and an opt-in column (yes unless told)."""
    consent = opt_ins if opt_ins is not None else ["yes"] * len(emails)
    lines = ["email,first_name,opt_in"]
    lines += [
        f"{email},Name{n},{given}" for n, (email, given) in enumerate(zip(emails, consent, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def valid_addresses(count: int, domain: str = "example.com") -> list[str]:
    return [f"person{n}@{domain}" for n in range(count)]
