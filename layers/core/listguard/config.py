"""Configuration: one pydantic-settings model per function, read from the environment and validated.

A missing or empty variable fails the invocation loudly (a ``ValidationError`` naming it) instead of
surfacing later as a confusing AWS error. Settings are read on every invocation (a few microseconds):
the local cloud runs the functions of successive deployments in one process, each with its own table.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    #: The single DynamoDB table (contacts, imports, account profiles).
    table_name: str = Field(min_length=1)


class ImportCheckSettings(_Settings):
    """The ``import_check`` function: ``TABLE_NAME``, ``IMPORT_STATE_MACHINE_ARN`` (and tuning)."""

    #: The import state machine: imports that wait for an answer, or that are too big for one invocation.
    import_state_machine_arn: str = Field(min_length=1)
    #: How long a customer has to continue or cancel a checked import (then it is cancelled).
    confirmation_timeout_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    #: Contacts per chunk: one invocation writes one chunk; a file of more is written by several.
    import_chunk_size: int = Field(default=200_000, gt=0)
    #: Where the row report and the contacts spool are written while streaming.
    work_dir: str | None = None


class ImportFailedSettings(_Settings):
    """The ``import_failed`` function: ``TABLE_NAME``, and where it tells the customer of the failure."""

    flag_topic_arn: str = Field(min_length=1)
    notification_sender: str = Field(min_length=3)


class ImportStepsSettings(_Settings):
    """The ``import_steps`` function (the import state machine's tasks)."""

    imports_bucket: str = Field(min_length=1)
    flag_topic_arn: str = Field(min_length=1)
    #: Every notification email comes from this verified SES identity.
    notification_sender: str = Field(min_length=3)


def import_check_settings() -> ImportCheckSettings:
    return ImportCheckSettings()  # type: ignore[call-arg]  # fields come from the environment


def import_failed_settings() -> ImportFailedSettings:
    return ImportFailedSettings()  # type: ignore[call-arg]


def import_steps_settings() -> ImportStepsSettings:
    return ImportStepsSettings()  # type: ignore[call-arg]
