"""No address and no row content in what the deployed functions log, record, publish or return."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from functional_cloud import ACCOUNT, Cloud, run_the_state_machine
from test_import_check import import_key, only_result

SECRETS = ("zoë", "müller", "secret-note", "@example.de", "@mailinator.com")


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [secret for secret in SECRETS if secret in lowered]


class Recorder(logging.Handler):
    """Every record the functions log, formatted as Powertools writes it (JSON, with the extra keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(LambdaPowertoolsFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Recorder]:
    # The functions log through Powertools' "listguard" logger (the service) and its children.
    recorder, logger = Recorder(), logging.getLogger("listguard")
    logger.addHandler(recorder)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)


def test_a_rejected_file_and_a_declined_import_tell_nothing_of_their_rows(
    cloud: Cloud, logs: Recorder, small_check_policy: int
) -> None:
    # Given a file whose first row is not a header nor holds an address, and a bought list
    rejected = "Zoë Müller,secret-note,zoë at example.de\nAnn,secret-note,nothing\n".encode()
    bought = "email,note\n" + "".join(f"person{i}@example.de,secret-note\n" for i in range(170))
    bought += "".join(f"temp{i}@mailinator.com,secret-note\n" for i in range(30))

    # When both are checked (the bought list all the way through the import state machine)
    results = [only_result(cloud.invoke(cloud.upload(import_key("odd"), rejected)))]
    results.append(only_result(cloud.invoke(cloud.upload(import_key("bought"), bought.encode()))))
    cloud.account_store.set_email(ACCOUNT, "owner@acme.example", now="2026-11-30T00:00:00+00:00")
    assert run_the_state_machine(cloud, "bought") == "declined"

    # Then the functions' logs, results, import records, notifications and SNS messages name rows,
    # counts and rules, never an address nor what a row holds
    assert results[0]["status"] == "rejected" and "row 1" in results[0]["error"]
    logged = "\n".join(logs.lines)
    assert "import" in logged
    records = [cloud.raw_item("ACCOUNT#acme", f"IMPORT#{name}") for name in ("odd", "bought")]
    notes = [n.model_dump_json() for n in cloud.notification_store.list(ACCOUNT)]
    events = json.dumps(cloud.flag_events())
    for where, text in (
        ("logs", logged),
        ("results", json.dumps(results)),
        ("records", json.dumps(records, default=str)),
        ("notifications", json.dumps(notes)),
        ("sns", events),
    ):
        assert leaks(text) == [], (where, text[:2000])
