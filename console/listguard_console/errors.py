"""How every console command fails: one `error:` line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from listguard.verification import Policy

EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL_ERROR = 1
DEBUG_VARIABLE = "LISTGUARD_DEBUG"


class CommandError(Exception):
    """Something the user can fix: printed as one ``error:`` line, exit code 2."""


def fail(message: str, code: int) -> NoReturn:
    # One line, whatever the message holds: scripts and log lines read it as one record.
    one_line = " ".join(message.split())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def one_line_errors(interrupted: str) -> Iterator[None]:
    """Turns what a command can raise into one line and an exit code.

    ``interrupted`` says what Ctrl-C left behind (and what to do).
    """
    try:
        yield
    except CommandError as error:
        fail(str(error), EXIT_UNUSABLE)
    except KeyboardInterrupt:
        fail(f"interrupted: {interrupted}", EXIT_INTERRUPTED)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        # A bug, not the user's doing: still one line, with a way to see the traceback.
        if os.environ.get(DEBUG_VARIABLE):
            raise
        fail(
            f"internal error ({type(error).__name__}: {error}); please report it "
            f"(run again with {DEBUG_VARIABLE}=1 to see the traceback)",
            EXIT_INTERNAL_ERROR,
        )


def load_policy() -> Policy:
    """The thresholds in force; a bad ``LISTGUARD_*`` setting is the user's to fix."""
    from pydantic import ValidationError

    from listguard.verification import Policy

    try:
        return Policy()
    except ValidationError as error:
        problems = "; ".join(
            f"LISTGUARD_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise CommandError(f"invalid setting in the environment: {problems}") from None
