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
    """The ``import_check`` function: ``TABLE_NAME``, ``FLAG_TOPIC_ARN`` (and optional tuning)."""

    #: SNS topic told about every import whose outcome flags contacts.
    flag_topic_arn: str = Field(min_length=1)
    #: Where the row report and the contacts spool are written while streaming.
    work_dir: str | None = None


class ImportFailedSettings(_Settings):
    """The ``import_failed`` function: ``TABLE_NAME``."""


def import_check_settings() -> ImportCheckSettings:
    return ImportCheckSettings()  # type: ignore[call-arg]  # fields come from the environment


def import_failed_settings() -> ImportFailedSettings:
    return ImportFailedSettings()  # type: ignore[call-arg]
