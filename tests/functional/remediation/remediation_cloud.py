"""The remediation's steps on moto: the functional cloud plus a versioned exports bucket and the
remediation state machine (registered, not executed: tests run its steps through the handlers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from functional_cloud import ACCOUNT, BUCKET, SENDER, Cloud
from harness import ROOT, run_handler

from listguard.domain import FlagStatus
from listguard.domain.remediation import Remediation
from listguard.flows.remediation import Services
from listguard.notify import Notifier
from listguard.stores import ContactWrite, ImportStamp, RemediationStore
from listguard.verification import Verdict

EXPORTS = "listguard-exports-test"
REMEDIATION_STATE_MACHINE = ROOT / "infra" / "statemachines" / "remediation.asl.json"
#: Small chunks and pages: a segment of a few dozen contacts spans several of each.
CHUNK, PAGE = 7, 3


def remediation_cloud(cloud: Cloud) -> RemediationCloud:
    """The exports bucket (versioned) and the remediation state machine, on a test's mocked AWS."""
    cloud.s3.create_bucket(Bucket=EXPORTS)
    cloud.s3.put_bucket_versioning(Bucket=EXPORTS, VersioningConfiguration={"Status": "Enabled"})
    state_machine_arn = cloud.sfn.create_state_machine(
        name="remediations",
        definition=REMEDIATION_STATE_MACHINE.read_text(),
        roleArn="arn:aws:iam::123456789012:role/remediations",
    )["stateMachineArn"]
    environment = {
        **cloud.environment,
        "EXPORTS_BUCKET": EXPORTS,
        "REMEDIATION_CHUNK_CONTACTS": str(CHUNK),
        "REMEDIATION_PAGE_SIZE": str(PAGE),
        "REMEDIATION_DELETE_THREADS": "2",
    }
    services = Services(
        s3=cloud.s3,
        sfn=cloud.sfn,
        table=cloud.table,
        notifier=Notifier.on(
            cloud.table,
            sesv2=boto3.client("sesv2"),
            sns=boto3.client("sns"),
            topic_arn=environment["FLAG_TOPIC_ARN"],
            sender=SENDER,
        ),
        exports_bucket=EXPORTS,
        imports_bucket=BUCKET,
        chunk_contacts=CHUNK,
        page_size=PAGE,
        delete_threads=2,
        state_machine_arn=state_machine_arn,
        presigner=boto3.client("s3", config=Config(signature_version="s3v4")),
    )
    return RemediationCloud(cloud=cloud, services=services, environment=environment)


@dataclass
class RemediationCloud:
    cloud: Cloud
    services: Services
    environment: dict[str, str]

    @property
    def s3(self) -> Any:
        return self.cloud.s3

    @property
    def store(self) -> RemediationStore:
        return self.services.remediations

    def record(self, remediation_id: str) -> Remediation:
        record = self.store.get(remediation_id)
        assert record is not None
        return record

    def step(self, step: str, remediation_id: str, *, attempt: int | None = None, **payload: Any) -> Any:
        """Run one task of the remediation state machine, as its Task state would."""
        function = "export" if step in {"segment", "export", "clean"} else "remediation_steps"
        attempt = attempt or self.record(remediation_id).attempt
        event = {"step": step, "remediation": {"remediation_id": remediation_id, "attempt": attempt}}
        return run_handler(function, {**event, **payload}, environment=self.environment)

    def loop(self, step: str, remediation_id: str) -> int:
        """A looping step (segment, delete) until it says there is no more; returns how many calls."""
        calls = 0
        while True:
            calls += 1
            if not self.step(step, remediation_id)["more"]:
                return calls

    def run_to_confirmation(self, remediation_id: str, token: str = "token-1") -> Remediation:
        self.step("begin", remediation_id)
        self.loop("segment", remediation_id)
        self.step("export", remediation_id)
        self.step("await_confirmation", remediation_id, token=token)
        return self.record(remediation_id)

    def run_after_confirmation(self, remediation_id: str) -> Remediation:
        self.step("verify_export", remediation_id)
        self.loop("delete", remediation_id)
        self.step("clean", remediation_id)
        record = self.record(remediation_id)
        if record.consent_attested:
            self.step("reimport", remediation_id)
        if record.campaign_id:
            self.step("requeue", remediation_id)
        self.step("finish", remediation_id)
        return self.record(remediation_id)

    def read_bytes(self, key: str, version_id: str | None = None, bucket: str = EXPORTS) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        return body

    def read(self, key: str, version_id: str | None = None, bucket: str = EXPORTS) -> str:
        return self.read_bytes(key, version_id, bucket).decode("utf-8-sig")

    def declined(
        self,
        rows: Iterable[tuple[str, dict[str, str]]],
        *,
        account: str = ACCOUNT,
        import_id: str = "bought",
        flag: FlagStatus = FlagStatus.DECLINED,
        verdict: Verdict = Verdict.VALID,
    ) -> None:
        """Contacts as a declined import left them (address, imported columns)."""
        stamp = ImportStamp(account, import_id, "etag-1", flag, "2026-06-01T00:00:00.000+00:00")
        writes = [
            ContactWrite(email, dict(columns), verdict, row) for row, (email, columns) in enumerate(rows, 1)
        ]
        self.cloud.contact_store.merge_import(stamp, writes)


def people(
    count: int, *, first: int = 0, domain: str = "example.com", **columns: str
) -> list[tuple[str, dict[str, str]]]:
    return [(f"person{i}@{domain}", {"name": f"Person {i}", **columns}) for i in range(first, first + count)]
