"""Configuration: one pydantic-settings model per function, read from the environment and validated.

A missing or empty variable fails the invocation loudly (a ``ValidationError`` naming it) instead of
surfacing later as a confusing AWS error.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImportCheckSettings(BaseSettings):
    """The ``import_check`` function: ``TABLE_NAME``, ``FLAG_TOPIC_ARN`` (and optional tuning)."""

    model_config = SettingsConfigDict(frozen=True)

    #: The single DynamoDB table (contacts, imports, account profiles).
    table_name: str = Field(min_length=1)
    #: SNS topic told about every import whose outcome flags contacts.
    flag_topic_arn: str = Field(min_length=1)
    #: How long a started check holds its import before another delivery of the same file may take it
    #: over (a crash that Lambda does not retry). The function timeout, so a live check is never stolen.
    import_lease_seconds: int = Field(default=900, gt=0)
    #: Where the row report and the pending-contacts spool are written while streaming.
    work_dir: str | None = None


def import_check_settings() -> ImportCheckSettings:
    """The settings in the environment of this invocation.

    Read on every invocation (a few microseconds): the local cloud runs the functions of successive
    deployments in one process, each deployment with its own table and topic.
    """
    return ImportCheckSettings()  # type: ignore[call-arg]  # fields come from the environment
