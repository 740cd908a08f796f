"""The campaign flow's settings (one model per function) and its services, built from them.

A missing or empty variable fails the invocation with a ``ValidationError`` that names it, as the
import functions' settings do (listguard.config).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from listguard.domain.deliverability import DeliverabilityPolicy
from listguard.flows.campaigns.checks import CampaignChecks
from listguard.flows.campaigns.feedback import FeedbackRecorder
from listguard.flows.campaigns.sending import Sender
from listguard.flows.campaigns.steps import CampaignServices
from listguard.notify import Notifier
from listguard.stores import ContactStore, ImportStore, Table, utc_now_iso
from listguard.stores.campaign_contacts import CampaignContacts
from listguard.stores.campaigns import CampaignStore
from listguard.stores.ledger import SendLedger
from listguard.stores.sending_rate import SendingRate


class _CampaignSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    table_name: str = Field(min_length=1)


class CampaignStepsSettings(_CampaignSettings):
    """The ``campaign_steps`` function (the campaign state machine's tasks)."""

    #: Where a paused campaign's check file is written (the imports bucket).
    imports_bucket: str = Field(min_length=1)
    #: The customer is told of a pause like of any event: the flag topic, and email from the sender.
    flag_topic_arn: str = Field(min_length=1)
    notification_sender: str = Field(min_length=3)
    #: The SES configuration set whose event destination feeds the feedback topic.
    campaign_configuration_set: str | None = None


class RequeueSettings(_CampaignSettings):
    """The ``requeue`` function (the scheduled job)."""

    imports_bucket: str = Field(min_length=1)
    campaign_configuration_set: str | None = None


class FeedbackSettings(_CampaignSettings):
    """The ``feedback`` function (SES notifications through the feedback topic)."""


def campaign_services(
    *,
    table: Table,
    s3: Any,
    sfn: Any,
    sesv2_single_attempt: Any,
    bucket: str,
    configuration_set: str | None,
    notifier: Notifier | None,
    policy: DeliverabilityPolicy | None = None,
    clock: Callable[[], str] = utc_now_iso,
) -> CampaignServices:
    """The flow's services on one table. ``sesv2_single_attempt`` must be a client that never retries
    SendEmail by itself (``AwsClients.sesv2_single_attempt``)."""
    policy = policy or DeliverabilityPolicy()
    campaigns = CampaignStore(table)
    ledger = SendLedger(table)
    contacts = ContactStore(table)
    return CampaignServices(
        table=table,
        campaigns=campaigns,
        ledger=ledger,
        sender=Sender(
            ledger=ledger,
            rate=SendingRate(table, policy.send_rate_per_second),
            sesv2=sesv2_single_attempt,
            configuration_set=configuration_set,
            clock=clock,
        ),
        checks=CampaignChecks(
            campaigns=campaigns,
            ledger=ledger,
            contacts=contacts,
            holds=CampaignContacts(table),
            imports=ImportStore(table),
            s3=s3,
            bucket=bucket,
            clock=clock,
        ),
        notifier=notifier,
        policy=policy,
        sfn=sfn,
        clock=clock,
    )


def steps_services() -> CampaignServices:
    """The services of the deployed ``campaign_steps`` function."""
    from listguard.aws import aws_clients

    settings = CampaignStepsSettings()  # type: ignore[call-arg]  # fields come from the environment
    clients = aws_clients()
    table = Table(clients.dynamodb, settings.table_name)
    return campaign_services(
        table=table,
        s3=clients.s3,
        sfn=clients.sfn,
        sesv2_single_attempt=clients.sesv2_single_attempt,
        bucket=settings.imports_bucket,
        configuration_set=settings.campaign_configuration_set,
        notifier=Notifier.on(
            table,
            sesv2=clients.sesv2,
            sns=clients.sns,
            topic_arn=settings.flag_topic_arn,
            sender=settings.notification_sender,
        ),
    )


def requeue_services() -> CampaignServices:
    """The services of the deployed ``requeue`` function."""
    from listguard.aws import aws_clients

    settings = RequeueSettings()  # type: ignore[call-arg]
    clients = aws_clients()
    return campaign_services(
        table=Table(clients.dynamodb, settings.table_name),
        s3=clients.s3,
        sfn=clients.sfn,
        sesv2_single_attempt=clients.sesv2_single_attempt,
        bucket=settings.imports_bucket,
        configuration_set=settings.campaign_configuration_set,
        notifier=None,
    )


def feedback_recorder() -> FeedbackRecorder:
    """The deployed ``feedback`` function's recorder."""
    from listguard.aws import aws_clients

    settings = FeedbackSettings()  # type: ignore[call-arg]
    table = Table(aws_clients().dynamodb, settings.table_name)
    return FeedbackRecorder(
        ledger=SendLedger(table), contacts=ContactStore(table), engagement=CampaignContacts(table)
    )
