"""`make bench-remediation`: what each step of a remediation costs per contact; a 1 M segment's arithmetic.

Measured here, in this process, on realistic contacts (imported columns and listguard's fields, ~600
bytes of JSON each): the client-side CPU of each step per contact, with the steps' own code and
botocore doing what it does on AWS (serialise, sign, send, parse). The AWS calls are answered by a
local HTTP server in another process, so its work is not counted: what is counted is what the function
pays for. The service's own latency is not measurable here; the arithmetic takes DynamoDB's published
single-digit milliseconds (5 ms a write, 30 ms a 1 MB query page) and S3's ~100 MB/s per stream.

Baseline, in the same run: the delete as a transaction per contact (TransactWriteItems: the delete and
the tombstone), against the delete as built (one conditional DeleteItem, and a share of the batched
tombstone writes and reads).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import subprocess
import sys
import textwrap
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from listguard.csvio import CsvWriter
from listguard.domain.remediation import SegmentChunk
from listguard.flows.remediation import clean as clean_step
from listguard.flows.remediation import delete as delete_step
from listguard.flows.remediation.export import FIELD_ORDER, ExportLayout
from listguard.flows.remediation.objects import MIN_PART_SIZE, HashingReader, S3TextSink
from listguard.stores.dynamo import deserialize, serialize
from listguard.verification import Policy, Verification, VerifyOptions

CONTACTS = 1_000_000
CHUNK = 20_000  # REMEDIATION_CHUNK_CONTACTS: one segment invocation, one delete invocation
THREADS = 16  # REMEDIATION_DELETE_THREADS
# Published figures the arithmetic rests on (not measurable here):
WRITE_MS = 5.0  # a DynamoDB single-item write, in region
PAGE_MS = 30.0  # a DynamoDB query page (1 MB)
S3_MB_S = 100.0  # one S3 stream
# The functions' memory, and the vCPU share Lambda gives it (1,769 MB is one vCPU).
MEMORY_MB = {"export": 2048, "remediation_steps": 1024}
# us-east-1 list prices: DynamoDB on demand, Lambda x86, Step Functions standard, S3 standard requests.
USD_PER_WRU, USD_PER_RRU = 0.625e-6, 0.125e-6
USD_PER_GB_S, USD_PER_TRANSITION = 0.0000166667, 0.000025
USD_PER_PUT, USD_PER_GET = 0.005e-3, 0.0004e-3

SERVER = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    BODIES = {
        "DynamoDB_20120810.DeleteItem": b"{}",
        "DynamoDB_20120810.TransactWriteItems": b"{}",
        "DynamoDB_20120810.BatchWriteItem": b'{"UnprocessedItems": {}}',
        "DynamoDB_20120810.BatchGetItem": b'{"Responses": {"t": []}, "UnprocessedKeys": {}}',
    }
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = BODIES[self.headers["X-Amz-Target"]]
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def contact(i: int) -> dict[str, Any]:
    """A declined contact as the table holds it."""
    return {
        "pk": "ACCOUNT#acme",
        "sk": f"CONTACT#lead.{i}@example.com",
        "type": "contact",
        "account": "acme",
        "email": f"Lead.{i}@Example.com",
        "email_key": f"lead.{i}@example.com",
        "attributes": {
            "first_name": "Zoë",
            "last_name": "Müller",
            "country": "DE",
            "opt_in": "yes",
            "signup_date": "2024-03-14",
            "last_open": "2026-10-02",
            "last_click": "2026-08-19",
        },
        "subscription_status": "subscribed",
        "flag_status": "declined",
        "flagged_by": "spring-leads",
        "import_id": "spring-leads",
        "import_etag": "9b2cf535f27731c974343645a3985328",
        "verdict": "valid",
        "row": i,
        "created_at": "2026-11-02T10:11:12.123+00:00",
        "updated_at": "2026-11-02T10:11:12.123+00:00",
        "rev": 1,
        "gsi1pk": "ACCOUNT#acme#FLAG#declined",
        "gsi1sk": f"lead.{i}@example.com",
        "gsi2pk": "IMPORT#acme#spring-leads",
        "gsi2sk": f"lead.{i}@example.com",
    }


def cpu_per_contact(work: Callable[[], int]) -> float:
    """Seconds of this process's CPU per contact (CPU time: steadier than wall time on a shared machine)."""
    started = time.process_time()
    contacts = work()
    return (time.process_time() - started) / contacts


def segment_cost(page_size: int = 1_000) -> float:
    """A query page parsed by botocore (its JSON, typed), deserialised, then the chunk's gzip JSON lines."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    operation = client.meta.service_model.operation_model("Query")
    parser = client._endpoint._response_parser_factory.create_parser("json")  # botocore's own parser
    page = json.dumps(
        {"Items": [serialize(contact(i)) for i in range(page_size)], "Count": page_size}
    ).encode()

    def work() -> int:
        contacts = []
        for _ in range(5):
            parsed = parser.parse({"body": page, "headers": {}, "status_code": 200}, operation.output_shape)
            items = [deserialize(raw) for raw in parsed["Items"]]
            contacts += [{k: v for k, v in item.items() if not k.startswith("gsi")} for item in items]
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as gz:
            for item in contacts:
                gz.write(json.dumps(item, ensure_ascii=False, default=str).encode() + b"\n")
        return len(contacts)

    return cpu_per_contact(work)


class NullS3:
    """Takes the parts and keeps them (a part's upload is botocore's, a few ms a part, not counted)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def create_multipart_upload(self, **_: Any) -> dict[str, Any]:
        return {"UploadId": "u"}

    def upload_part(self, **kwargs: Any) -> dict[str, Any]:
        self.parts.append(kwargs["Body"])
        return {"ETag": "e"}

    def complete_multipart_upload(self, **_: Any) -> dict[str, Any]:
        return {"VersionId": "v"}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.parts.append(kwargs["Body"])
        return {"VersionId": "v"}


#: The listguard fields the bench's contacts carry, in the export's own order.
FIELDS = tuple(name for name in FIELD_ORDER if name in contact(0))


def snapshot_lines(count: int) -> bytes:
    items = [{k: v for k, v in contact(i).items() if not k.startswith("gsi")} for i in range(count)]
    return gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items), compresslevel=1)


def export_cost(chunk: bytes, count: int) -> tuple[float, bytes]:
    """The snapshot's gzip JSON lines read back, each contact a CSV row, streamed into parts. Returns the CPU
    per contact and the export."""
    layout = ExportLayout.of(
        [
            SegmentChunk(
                key="k", contacts=count, attributes=list(contact(0)["attributes"]), fields=list(FIELDS)
            )
        ]
    )
    s3 = NullS3()
    sink = S3TextSink(s3, "b", "k", part_size=MIN_PART_SIZE)

    def work() -> int:
        sink.write("\ufeff")
        writer = CsvWriter(sink, layout.header, delimiter=";")
        rows = 0
        with gzip.open(io.BytesIO(chunk), "rt", encoding="utf-8") as lines:
            for line in lines:
                writer.write_row(layout.row(json.loads(line)))
                rows += 1
        sink.close()
        return rows

    return cpu_per_contact(work), b"".join(s3.parts)


def verify_cost(chunk: bytes, export: bytes) -> float:
    """The export read whole and hashed, beside the snapshot, one row per contact (delete.verify_export)."""

    def work() -> int:
        reader = HashingReader(io.BytesIO(export))
        text = io.TextIOWrapper(io.BufferedReader(reader, 1 << 20), encoding="utf-8-sig", newline="")
        rows = csv.reader(text, delimiter=";")
        header = next(rows)
        revision = header.index("listguard.rev")
        count = 0
        with gzip.open(io.BytesIO(chunk), "rt", encoding="utf-8") as lines:
            for line, row in zip(lines, rows, strict=True):
                assert delete_step._same(json.loads(line), row, revision)
                count += 1
        assert reader.digest.hexdigest()
        return count

    return cpu_per_contact(work)


def clean_cost(chunk: bytes, count: int) -> float:
    """The engine's verdict on each contact, the engagement rule, and the clean list and report written."""
    contacts = [json.loads(line) for line in gzip.decompress(chunk).splitlines()]
    layout = ExportLayout(list(contacts[0]["attributes"]), ["flag_status", "subscription_status", "rev"])
    as_of = datetime(2026, 11, 30, tzinfo=UTC)

    def work() -> int:
        pending: deque[dict[str, Any]] = deque()
        feed = io.BufferedReader(
            clean_step._EngineFeed(clean_step._engine_rows(iter(contacts), layout, pending))
        )
        verification = Verification(
            feed, options=VerifyOptions(), policy=Policy().model_copy(update={"max_file_bytes": 1 << 62})
        )
        clean_list = CsvWriter(
            S3TextSink(NullS3(), "b", "c", part_size=MIN_PART_SIZE), ["email"], delimiter=";"
        )
        report = CsvWriter(S3TextSink(NullS3(), "b", "r", part_size=MIN_PART_SIZE), ["email"], delimiter=";")
        for batch in verification.batches():
            for result in batch:
                item = pending.popleft()
                reason, _ = clean_step._why_removed(result.verdict, result.reason, item, layout, as_of)
                (clean_list if reason is None else report).write_row(layout.row(item)[:8])
        return count

    return cpu_per_contact(work)


def dynamodb_costs(calls: int = 2_000) -> dict[str, float]:
    """botocore's CPU for each call the delete makes (and the transaction it replaces), answered locally."""
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}),
        )
        item = serialize({k: v for k, v in contact(0).items() if not k.startswith("gsi")})
        key = {"pk": item["pk"], "sk": item["sk"]}
        tombstone = serialize(
            {
                "pk": "ACCOUNT#acme",
                "sk": "TOMBSTONE#" + "0" * 64 + "#rem-0",
                "type": "tombstone",
                "address_hash": "0" * 64,
                "reason": "declined contact deleted by remediation rem-0",
                "deleted_on": "2026-11-30",
            }
        )
        condition = {
            "ConditionExpression": "#rev = :rev AND #flag = :declined AND #sub = :subscribed",
            "ExpressionAttributeNames": {
                "#rev": "rev",
                "#flag": "flag_status",
                "#sub": "subscription_status",
            },
            "ExpressionAttributeValues": serialize(
                {":rev": 1, ":declined": "declined", ":subscribed": "subscribed"}
            ),
        }

        def timed(call: Callable[[], Any], repeat: int) -> float:
            call()  # a connection, once
            started = time.process_time()
            for _ in range(repeat):
                call()
            return (time.process_time() - started) / repeat

        return {
            "delete_item": timed(
                lambda: client.delete_item(
                    TableName="t", Key=key, ReturnValuesOnConditionCheckFailure="ALL_OLD", **condition
                ),
                calls,
            ),
            "batch_write_25": timed(
                lambda: client.batch_write_item(
                    RequestItems={"t": [{"PutRequest": {"Item": tombstone}}] * 25}
                ),
                calls // 25,
            ),
            "batch_get_100": timed(
                lambda: client.batch_get_item(
                    RequestItems={
                        "t": {"Keys": [{"pk": tombstone["pk"], "sk": {"S": f"T{i}"}} for i in range(100)]}
                    }
                ),
                calls // 100,
            ),
            "transaction": timed(
                lambda: client.transact_write_items(
                    TransactItems=[
                        {"Delete": {"TableName": "t", "Key": key, **condition}},
                        {
                            "Put": {
                                "TableName": "t",
                                "Item": tombstone,
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                ),
                calls,
            ),
        }
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=CONTACTS, help="the segment of the arithmetic")
    args = parser.parse_args()
    n = args.contacts

    chunk = snapshot_lines(CHUNK)
    segment = segment_cost()
    export, exported = export_cost(chunk, CHUNK)
    export_bytes = len(exported) / CHUNK
    verify = verify_cost(chunk, exported)
    clean = clean_cost(chunk, CHUNK)
    calls = dynamodb_costs()
    delete = calls["delete_item"] + calls["batch_write_25"] / 25 + calls["batch_get_100"] / 100
    baseline = calls["transaction"]

    def vcpu(function: str) -> float:
        return MEMORY_MB[function] / 1769

    chunks = -(-n // CHUNK)
    pages = -(-n * 600 // 1_000_000)  # 1 MB pages of ~600-byte contacts
    export_mb = n * export_bytes / 1e6
    # Seconds of each step for the whole segment: CPU at the function's vCPU share, plus waiting on AWS.
    delete_per_chunk = max(CHUNK * delete / vcpu("remediation_steps"), CHUNK * WRITE_MS / 1000 / THREADS)
    steps = {
        "segment": (n * segment / vcpu("export") + pages * PAGE_MS / 1000, chunks, "export"),
        "export": (n * export / vcpu("export") + export_mb / S3_MB_S, 1, "export"),
        "verify export": (
            n * verify / vcpu("remediation_steps") + export_mb / S3_MB_S,
            1,
            "remediation_steps",
        ),
        "delete": (chunks * delete_per_chunk, chunks, "remediation_steps"),
        "clean": (n * clean / vcpu("export") + export_mb / S3_MB_S, 1, "export"),
    }
    measured = {
        "segment": segment,
        "export": export,
        "verify export": verify,
        "delete": delete,
        "clean": clean,
    }

    print(f"remediation of a {n:,}-contact segment (chunks of {CHUNK:,}; {THREADS} deletes in flight)")
    print(f"{'step':<14}{'CPU µs/contact':>15}{'invocations':>13}{'s/invocation':>14}{'total s':>9}")
    gb_seconds = 0.0
    for name, (seconds, invocations, function) in steps.items():
        gb_seconds += seconds * MEMORY_MB[function] / 1024
        cpu = measured[name] * 1e6
        print(f"{name:<14}{cpu:>15.1f}{invocations:>13,}{seconds / invocations:>14.1f}{seconds:>9.0f}")
    micro = {name: f"{seconds * 1e6:.0f} µs" for name, seconds in calls.items()}
    parts = (
        f"DeleteItem {micro['delete_item']}, BatchWriteItem of 25 {micro['batch_write_25']}, "
        f"BatchGetItem of 100 {micro['batch_get_100']}"
    )
    print(
        f"delete, client CPU per contact: {delete * 1e6:.0f} µs as built ({parts}); baseline, a transaction "
        f"per contact: {baseline * 1e6:.0f} µs ({baseline / delete:.2f}x)"
    )
    wru = n * (1 + 3)  # the tombstone, and the contact with its two index entries
    rru = n * 600 / 4096 / 2 + n  # the segment's pages (eventually consistent), the tombstones read back
    transitions = 2 * chunks * 2 + 20
    s3_requests = (chunks * 4, chunks + export_mb * 3 / 8)  # GETs of the snapshot; PUTs of chunks and parts
    cost = {
        "DynamoDB writes": wru * USD_PER_WRU,
        "DynamoDB reads": rru * USD_PER_RRU,
        "Lambda": gb_seconds * USD_PER_GB_S,
        "Step Functions": transitions * USD_PER_TRANSITION,
        "S3 requests": s3_requests[0] * USD_PER_GET + s3_requests[1] * USD_PER_PUT,
    }
    print(
        f"export {export_bytes:.0f} bytes a contact ({export_mb:,.0f} MB); {wru:,} write units "
        f"(a transaction per contact: {n * (2 + 2 + 2):,}); {transitions} state transitions"
    )
    print(
        "cost: "
        + ", ".join(f"{name} ${usd:,.2f}" for name, usd in cost.items())
        + f"; total ${sum(cost.values()):,.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
