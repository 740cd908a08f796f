"""What the remediation's steps and actions talk to, and how they are tuned.

The functions build ``Services`` from their environment (``services_from_settings``); the console
builds it from the stack it points at; tests build it on moto.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from listguard.flows.remediation.objects import DEFAULT_PART_SIZE, MIN_PART_SIZE
from listguard.notify import Notifier
from listguard.stores import (
    AccountStore,
    ContactStore,
    RemediationStore,
    Table,
    TombstoneStore,
    utc_now_iso,
)

#: A chunk of the segment: what one invocation reads, and what one invocation deletes. 20,000 deletes
#: take about 15 s on AWS (16 in flight, ~12 ms each), far from the function's 900 s.
DEFAULT_CHUNK_CONTACTS = 20_000
#: Contacts a Query asks for at once (DynamoDB also stops a page at 1 MB).
DEFAULT_PAGE_SIZE = 1_000
#: Deletes in flight at once: each is one round trip (a transaction of two items).
DEFAULT_DELETE_THREADS = 16
#: How long the customer has to type the count (then nothing is deleted).
DEFAULT_CONFIRMATION_TIMEOUT_SECONDS = 7 * 24 * 3600
#: How long the export's download link works. A link signed with a function's temporary credentials
#: stops working when they expire, whatever it says: 12 hours stays within them. The console
#: (`listguard exports download`) works for as long as the export exists.
DEFAULT_LINK_SECONDS = 12 * 3600


class RemediationSettings(BaseSettings):
    """The environment of the remediation's functions (``export`` and ``remediation_steps``)."""

    model_config = SettingsConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    exports_bucket: str = Field(min_length=1)
    imports_bucket: str = Field(min_length=1)
    flag_topic_arn: str = Field(min_length=1)
    notification_sender: str = Field(min_length=3)
    remediation_confirmation_timeout_seconds: int = Field(default=DEFAULT_CONFIRMATION_TIMEOUT_SECONDS, gt=0)
    #: SigV4 links last 7 days at most.
    remediation_link_seconds: int = Field(default=DEFAULT_LINK_SECONDS, gt=0, le=7 * 24 * 3600)
    remediation_chunk_contacts: int = Field(default=DEFAULT_CHUNK_CONTACTS, gt=0)
    remediation_page_size: int = Field(default=DEFAULT_PAGE_SIZE, gt=0)
    remediation_delete_threads: int = Field(default=DEFAULT_DELETE_THREADS, gt=0)
    remediation_part_size: int = Field(default=DEFAULT_PART_SIZE, ge=MIN_PART_SIZE)


@dataclass(frozen=True)
class Services:
    s3: Any
    sfn: Any
    table: Table
    notifier: Notifier
    exports_bucket: str
    imports_bucket: str
    confirmation_timeout_seconds: int = DEFAULT_CONFIRMATION_TIMEOUT_SECONDS
    link_seconds: int = DEFAULT_LINK_SECONDS
    chunk_contacts: int = DEFAULT_CHUNK_CONTACTS
    page_size: int = DEFAULT_PAGE_SIZE
    delete_threads: int = DEFAULT_DELETE_THREADS
    part_size: int = DEFAULT_PART_SIZE
    #: The remediation state machine (only the console's ``start`` and ``retry`` need it).
    state_machine_arn: str | None = None
    #: Signs the download links: an S3 client with SigV4 (the only signature S3 takes in every
    #: region, and the one whose links say how long they last); ``s3`` when None.
    presigner: Any = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def remediations(self) -> RemediationStore:
        return RemediationStore(self.table)

    @property
    def contacts(self) -> ContactStore:
        return ContactStore(self.table)

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.table, self.contacts)

    @property
    def tombstones(self) -> TombstoneStore:
        return TombstoneStore(self.table)

    @property
    def snapshot_bucket(self) -> str:
        """The segment's snapshot waits under the imports bucket's work/ prefix (expired after 30 days),
        beside the imports' own contacts between their check and their writing."""
        return self.imports_bucket

    def now(self) -> str:
        return utc_now_iso(self.clock())


@functools.cache
def _presigner() -> Any:
    """An S3 client that signs with SigV4 (made once per process: a client takes tens of ms to make)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


def services_from_settings() -> Services:
    """The services of a deployed function, from its environment."""
    from listguard.aws import aws_clients

    settings = RemediationSettings()  # type: ignore[call-arg]  # fields come from the environment
    clients = aws_clients()
    table = Table(clients.dynamodb, settings.table_name)
    return Services(
        s3=clients.s3,
        sfn=clients.sfn,
        presigner=_presigner(),
        table=table,
        notifier=Notifier.on(
            table,
            sesv2=clients.sesv2,
            sns=clients.sns,
            topic_arn=settings.flag_topic_arn,
            sender=settings.notification_sender,
        ),
        exports_bucket=settings.exports_bucket,
        imports_bucket=settings.imports_bucket,
        confirmation_timeout_seconds=settings.remediation_confirmation_timeout_seconds,
        link_seconds=settings.remediation_link_seconds,
        chunk_contacts=settings.remediation_chunk_contacts,
        page_size=settings.remediation_page_size,
        delete_threads=settings.remediation_delete_threads,
        part_size=settings.remediation_part_size,
    )
