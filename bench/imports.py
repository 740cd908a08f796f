"""`make bench` (imports): what the import service costs per contact, against a baseline in the same run.

1. Client throughput. The import service (the verification engine in one process, as in Lambda, with
   the blocklist looked up for the file's addresses, then the contact writes) against a stand-in
   DynamoDB endpoint with 20 ms of latency (bench/dynamodb_stub.py, on the other core), this process
   pinned to one core: contacts per second per vCPU, from CPU time. Baseline, same run: the write path
   anyone writes first, one boto3 resource ``put_item`` per contact. Goal: at least 2,500 contacts/s
   per vCPU. From the rate: how long the invocations of a 4 M-row file take (one checks the whole file,
   then one writes each chunk of 200,000 contacts), each within the functions' limit.
2. Write units per contact, counted from the requests the deployed functions send (the local cloud's
   capacity meter), for a validated, a declined and a reviewed import of new contacts and a re-import of
   existing ones, and the dollars per million contacts on demand. Goals: validated <= 1.5, declined <= 3.
3. Reads per import: a 10,000-row import into accounts of 10,000 and 1,000,000 contacts (the stub plays
   the account: a query of its contacts reads them all). Goal: the same for both sizes.

Prints every figure with PASS/FAIL, writes them to bench/.data/imports.json, exits 1 when a goal fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contacts import contact_file  # bench/ is not a package: its directory is on sys.path

DATA = Path(__file__).resolve().parent / ".data"
STUB = Path(__file__).resolve().parent / "dynamodb_stub.py"
LATENCY_MS = 20
MIN_RATE = 2_500
MAX_VALIDATED_WU, MAX_DECLINED_WU = 1.5, 3.0
FILE_ROWS_4M = 4_000_000
#: On-demand prices (us-east-1): a million write request units, a million read request units.
PRICE_WRITE, PRICE_READ = 0.625, 0.125
INVOCATION_SECONDS = 840  # of the functions' 900 s, with room to start and to finish


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="rows of the throughput file")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # one vCPU for this process; the stub gets the other core

    figures: dict[str, Any] = {}
    ok = True
    with _stub(account_size=0) as stub:
        rate, baseline_rate, written, check_share = _throughput(stub.endpoint, args.rows)
    chunk = 200_000
    # The check invocation streams the whole file (engine and blocklist lookups); each chunk invocation
    # writes its contacts: the rate splits into those two parts.
    check_seconds = FILE_ROWS_4M * check_share / rate
    chunk_seconds = chunk * (1 - check_share) / rate
    largest = int(INVOCATION_SECONDS * rate / (1 - check_share))
    invocations = -(-FILE_ROWS_4M // chunk) + 1
    rate_ok = rate >= MIN_RATE and chunk_seconds <= INVOCATION_SECONDS and check_seconds <= INVOCATION_SECONDS
    ok &= rate_ok
    figures |= {
        "contacts": written,
        "contacts_per_second_per_vcpu": round(rate),
        "baseline_contacts_per_second_per_vcpu": round(baseline_rate),
        "largest_chunk_per_invocation": largest,
        "invocations_for_4m_rows": invocations,
        "check_invocation_seconds_4m_rows": round(check_seconds),
        "chunk_invocation_seconds": round(chunk_seconds),
    }
    print(f"client throughput ({written:,} new contacts, DynamoDB at {LATENCY_MS} ms, one vCPU):")
    print(f"  baseline  one resource put_item a contact: {baseline_rate:>8,.0f} contacts/s per vCPU")
    print(
        f"  listguard engine + batched, merged writes: {rate:>8,.0f} contacts/s per vCPU  "
        f"({rate / baseline_rate:.1f}x)  goal >= {MIN_RATE:,}: {_verdict(rate >= MIN_RATE)}"
    )
    fits = chunk_seconds <= INVOCATION_SECONDS and check_seconds <= INVOCATION_SECONDS
    print(
        f"  a 4 M-row file: 1 check invocation ({check_seconds:,.0f} s: the engine and the blocklist "
        f"lookups) + {invocations - 1} chunk invocations of {chunk:,} contacts ({chunk_seconds:,.0f} s "
        f"each; one could write {largest:,}), each within {INVOCATION_SECONDS} s: {_verdict(fits)}"
    )

    units = _write_units()
    figures["write_units_per_contact"] = units
    print("write units per contact (counted from the functions' requests, marginal over import size):")
    for scenario, value in units.items():
        goal = {"validated": MAX_VALIDATED_WU, "declined": MAX_DECLINED_WU}.get(scenario)
        verdict = f"goal <= {goal}: {_verdict(value['write'] <= goal)}" if goal else ""
        ok &= goal is None or value["write"] <= goal
        dollars = value["write"] * PRICE_WRITE + value["read"] * PRICE_READ
        value["dollars_per_million"] = round(dollars, 2)
        print(
            f"  {scenario:<10} {value['write']:.2f} WU + {value['read']:.2f} RU = ${dollars:.2f} a million "
            f"contacts ({value['write']:.2f} x ${PRICE_WRITE} + {value['read']:.2f} x ${PRICE_READ})"
            f"  {verdict}"
        )

    reads = {size: _reads_per_import(size) for size in (10_000, 1_000_000)}
    reads_ok = len(set(reads.values())) == 1
    ok &= reads_ok
    figures["reads_per_import"] = reads
    print("items read by a 10,000-row import:")
    for size, count in reads.items():
        print(f"  into an account of {size:>9,} contacts: {count:>7,} items  (reading the account: {size:,})")
    print(f"  the same for both sizes: {_verdict(reads_ok)}")

    DATA.mkdir(exist_ok=True)
    (DATA / "imports.json").write_text(json.dumps(figures, indent=2))
    return 0 if ok else 1


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class _Stub:
    def __init__(self, endpoint: str, process: subprocess.Popen[str]) -> None:
        self.endpoint, self.process = endpoint, process
        self.counts: dict[str, int] = {}


@contextlib.contextmanager
def _stub(account_size: int) -> Iterator[_Stub]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    other_core = str(max(os.cpu_count() or 1, 2) - 1)
    stub = subprocess.Popen(
        [
            "taskset",
            "-c",
            other_core,
            sys.executable,
            str(STUB),
            str(port),
            str(LATENCY_MS),
            str(account_size),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    handle = _Stub(f"http://127.0.0.1:{port}", stub)
    try:
        assert stub.stdout is not None and stub.stdout.readline().strip() == "ready"
        yield handle
    finally:
        stub.terminate()
        out, _ = stub.communicate(timeout=10)
        handle.counts = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def _client(endpoint: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16, **config),
    )


def _sample_file(rows: int) -> Path:
    source = contact_file(DATA, max(rows, 1_000_000))
    sample = DATA / f"imports-{rows}.csv"
    if not sample.exists():
        with source.open() as lines:
            sample.write_text("".join(line for _, line in zip(range(rows + 1), lines, strict=False)))
    return sample


def _throughput(endpoint: str, rows: int) -> tuple[float, float, int, float]:
    """(listguard's contacts/s per vCPU, the baseline's, contacts written, the share of the CPU time
    spent checking: the engine and the blocklist lookups, before any write)."""
    from listguard.domain import FlagStatus
    from listguard.flows.imports.stream import stream
    from listguard.stores import ContactStore, ImportStamp, Table
    from listguard.verification import Policy, Verification, VerifyOptions

    path = _sample_file(rows)
    contacts = ContactStore(Table(_client(endpoint), "contacts"))
    started = time.process_time()
    with path.open("rb") as body, tempfile.TemporaryDirectory() as work:
        verification = Verification(
            body,
            options=VerifyOptions(),
            policy=Policy(),
            size=path.stat().st_size,
            blocklist_lookup=lambda found: contacts.blocklisted_among("bench", found),
        )
        streamed = stream(verification, Path(work))
        checked = time.process_time() - started
        stamp = ImportStamp("bench", "leads", "etag", FlagStatus.NONE, "2026-11-30T00:00:00.000+00:00")
        tally = contacts.merge_import(stamp, streamed.contacts)
        total = time.process_time() - started
        baseline = _baseline(endpoint, list(streamed.contacts)[:3_000])
    return tally.written / total, baseline, tally.written, checked / total


def _baseline(endpoint: str, writes: list[Any]) -> float:
    """One boto3 resource put_item per contact, 8 threads (a resource per thread: they are not shared)."""
    import boto3

    def put(chunk: list[Any]) -> None:
        table = boto3.resource(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).Table("contacts")
        for write in chunk:
            table.put_item(
                Item={
                    "pk": "ACCOUNT#bench",
                    "sk": f"CONTACT#{write.key}",
                    "email": write.email,
                    **write.attributes,
                }
            )

    started = time.process_time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, [writes[i::8] for i in range(8)]))
    return len(writes) / (time.process_time() - started)


def _write_units() -> dict[str, dict[str, float]]:
    """Marginal capacity units per contact (an import of 400 contacts less one of 200), through the whole
    deployed flow on the local cloud: import_check, the customer's confirmation, the import state machine."""
    from listguard.aws import aws_clients
    from listguard_console.localcloud import LocalCloud
    from listguard_console.localcloud.capacity import metered
    from listguard_console.stack import Stack

    # moto's mock answers any credentials; boto3 still wants a region and some keys to sign with.
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ):
        os.environ.setdefault(name, value)
    quiet = {
        "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "100",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    units: dict[str, dict[str, float]] = {}
    with LocalCloud.start(environment=quiet) as cloud:
        stack = Stack(cloud)
        with metered(aws_clients().dynamodb, cloud.client("dynamodb")) as meter:

            def cost(account: str, name: str, body: bytes) -> tuple[float, float]:
                meter.reset()
                _import(cloud, stack, account, name, body)
                # The state machine goes on a moment after the import rests (it tells the customer):
                # wait until the functions are quiet.
                while True:
                    before = (meter.write_units, meter.read_units)
                    time.sleep(0.5)
                    if (meter.write_units, meter.read_units) == before:
                        return before

            for scenario, bad_share in (("validated", 0.0), ("declined", 0.15), ("reviewed", 0.06)):
                small = cost(f"{scenario}-1", "leads", _contacts(200, bad_share))
                large = cost(f"{scenario}-2", "leads", _contacts(400, bad_share))
                units[scenario] = _marginal(small, large, 200)
            # A re-import: the same contacts again, with a column changed (not new: no check)
            _import(cloud, stack, "again-1", "first", _contacts(200, 0.0))
            _import(cloud, stack, "again-2", "first", _contacts(400, 0.0))
            small = cost("again-1", "second", _contacts(200, 0.0, name="Renamed"))
            large = cost("again-2", "second", _contacts(400, 0.0, name="Renamed"))
            units["re-import"] = _marginal(small, large, 200)
    return units


def _marginal(small: tuple[float, float], large: tuple[float, float], contacts: int) -> dict[str, float]:
    return {"write": (large[0] - small[0]) / contacts, "read": (large[1] - small[1]) / contacts}


def _contacts(count: int, bad_share: float, name: str = "Ann") -> bytes:
    bad = round(count * bad_share)
    lines = [f"person{i}@example.com,{name} {i}" for i in range(count - bad)]
    lines += [f"temp{i}@mailinator.com,{name} {i}" for i in range(bad)]
    return ("email,first_name\n" + "\n".join(lines) + "\n").encode()


def _import(cloud: Any, stack: Any, account: str, name: str, body: bytes) -> None:
    """Upload, continue if asked, and wait until the import rests."""
    from listguard.domain.keys import import_object_key

    key = import_object_key(account, f"{name}.csv")
    cloud.client("s3").put_object(Bucket=stack.output("ImportsBucketName"), Key=key, Body=body)
    deadline = time.monotonic() + 60
    confirmed = False
    while time.monotonic() < deadline:
        record = stack.imports.get(account, name)
        status = str(record.status) if record else "received"
        if status == "awaiting_confirmation" and not confirmed:
            stack.lifecycle.confirm(account, name)
            confirmed = True
        elif status in {"imported", "validated", "declined", "in_review"}:
            return
        time.sleep(0.05)
    raise RuntimeError(f"import {account}/{name} did not finish")


def _reads_per_import(account_size: int) -> int:
    """Items the import service reads to check and write a 10,000-row import (new contacts) into an account
    of ``account_size`` contacts: what it asks the account's profile, the file's contacts and blocklist."""
    from listguard.domain import FlagStatus
    from listguard.flows.imports.stream import stream
    from listguard.stores import AccountStore, ContactStore, ImportStamp, Table
    from listguard.verification import Policy, Verification, VerifyOptions

    path = _sample_file(10_000)
    with _stub(account_size) as stub:
        table = Table(_client(stub.endpoint), "contacts")
        contacts = ContactStore(table)
        profile = AccountStore(table, contacts).get("bench")
        with path.open("rb") as body, tempfile.TemporaryDirectory() as work:
            options = VerifyOptions(existing_contacts=profile.contact_count)
            verification = Verification(
                body,
                options=options,
                policy=Policy(),
                size=path.stat().st_size,
                blocklist_lookup=lambda found: contacts.blocklisted_among("bench", found),
            )
            streamed = stream(verification, Path(work))
            stamp = ImportStamp("bench", "leads", "etag", FlagStatus.NONE, "2026-11-30T00:00:00.000+00:00")
            contacts.merge_import(stamp, streamed.contacts)
    return stub.counts.get("items_read", 0)


if __name__ == "__main__":
    sys.exit(main())
