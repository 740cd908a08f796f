"""The published thresholds: when a check is required, and how counts become an outcome."""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError

from listguard.verification import (
    BOUNCE_VERDICTS,
    Outcome,
    Policy,
    UnusableFileError,
    Verdict,
    Verification,
    VerifyOptions,
)

V = Verdict
ENV_NAMES = (
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS",
    "LISTGUARD_CHECK_MIN_SHARE_OF_LIST",
    "LISTGUARD_DECLINE_BOUNCE_RATE",
    "LISTGUARD_REVIEW_BOUNCE_RATE",
    "LISTGUARD_MAX_FILE_BYTES",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds come from the defaults unless a test sets them."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def counts_with(bad: int, rows: int, verdict: Verdict = V.INVALID_SYNTAX) -> dict[Verdict, int]:
    return {verdict: bad, V.VALID: rows - bad}


# -- defaults --------------------------------------------------------------------------------


def test_published_defaults() -> None:
    # Given no configuration / When the policy is read / Then it holds the published defaults
    policy = Policy()
    assert policy.check_min_new_contacts == 1_000
    assert policy.check_min_share_of_list == 0.25
    assert policy.decline_bounce_rate == 0.10
    assert policy.review_bounce_rate == 0.05
    assert policy.max_file_bytes == 250_000_000  # 250 MB, as published


# -- verification required -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "existing", "required"),
    [
        (999, 0, False),
        (1_000, 0, True),
        (999, 1_000, False),
        (1_000, 4_000, True),  # exactly 25% of the list
        (1_000, 4_001, False),  # just under 25%
        (1_001, 4_004, True),
        (1_000, 3_999, True),
        (50_000, 1_000_000, False),
        (250_000, 1_000_000, True),
        (0, 0, False),
    ],
)
def test_verification_required_at_1000_new_contacts_and_25_percent(
    new: int, existing: int, required: bool
) -> None:
    # Given an import of ``new`` contacts into a list of ``existing``
    # When the policy is asked / Then a check is required at >= 1,000 new and >= 25% of the list
    assert Policy().verification_required(new, existing) is required


def test_report_says_whether_a_check_is_required() -> None:
    # Given 1,000 new, valid contacts against 4,000 existing, then against 4,001
    text = "email\n" + "".join(f"person{i}@acme.io\n" for i in range(1_000))
    for existing, required in ((4_000, True), (4_001, False), (0, True)):
        verification = Verification(
            io.BytesIO(text.encode()), options=VerifyOptions(existing_contacts=existing)
        )
        # When the check runs / Then the report counts 1,000 new contacts and says whether a check is required
        report = verification.report()
        assert report.new_contacts == 1_000
        assert report.existing_contacts == existing
        assert report.verification_required is required


def test_new_contacts_exclude_rows_that_never_become_contacts() -> None:
    # Given valid, duplicate, invalid and malformed rows plus a role account
    text = (
        "email,name\nann@acme.io,Ann\nann@acme.io,Ann\nbad@@acme.io,X\n"
        + "bob@acme.io,Bob,extra\ninfo@acme.io,Team\n"
    )
    # When the check runs / Then only importable rows count as new contacts
    report = Verification(io.BytesIO(text.encode())).report()
    assert report.rows == 5
    assert report.new_contacts == 2


# -- outcome thresholds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "rows", "outcome", "threshold"),
    [
        (0, 100, Outcome.VALIDATED, 0.05),
        (4, 100, Outcome.VALIDATED, 0.05),
        (49, 1_000, Outcome.VALIDATED, 0.05),
        (4_999, 100_000, Outcome.VALIDATED, 0.05),
        (5, 100, Outcome.MANUAL_REVIEW, 0.05),  # exactly 5%
        (7, 140, Outcome.MANUAL_REVIEW, 0.05),  # exactly 5%
        (9, 100, Outcome.MANUAL_REVIEW, 0.05),
        (99, 1_000, Outcome.MANUAL_REVIEW, 0.05),
        (9_999, 100_000, Outcome.MANUAL_REVIEW, 0.05),
        (10, 100, Outcome.DECLINED, 0.10),  # exactly 10%
        (3, 30, Outcome.DECLINED, 0.10),  # exactly 10%
        (100, 100, Outcome.DECLINED, 0.10),
    ],
)
def test_bounce_rate_thresholds(bad: int, rows: int, outcome: Outcome, threshold: float) -> None:
    # Given ``bad`` rows of ``rows`` that would bounce
    # When the policy decides
    decided, reasons, rate = Policy().decide(counts_with(bad, rows), rows)
    # Then >= 10% declines, >= 5% goes to manual review, less is validated
    assert decided is outcome
    assert rate == bad / rows
    # And the one reason names its rule, the measured value and the threshold that applied
    (reason,) = reasons
    assert reason.rule == "predicted_bounce_rate"
    assert reason.outcome is outcome
    assert reason.value == bad / rows
    assert reason.threshold == threshold
    assert "bounce rate" in reason.message
    assert f"{bad / rows:.2%}" in reason.message
    assert f"{threshold:.0%}" in reason.message


@pytest.mark.parametrize("verdict", sorted(BOUNCE_VERDICTS))
def test_each_bounce_verdict_counts(verdict: Verdict) -> None:
    # Given 10% of rows with one of the verdicts that predict a bounce
    # When the policy decides / Then the import is declined
    assert Policy().decide(counts_with(10, 100, verdict), 100)[0] is Outcome.DECLINED


@pytest.mark.parametrize("verdict", [V.MALFORMED_ROW, V.DUPLICATE, V.ROLE_ACCOUNT, V.MISSING_CONSENT])
def test_other_verdicts_do_not_count_as_bounces(verdict: Verdict) -> None:
    # Given half the rows with a verdict that does not bounce
    # When the policy decides / Then the rate is zero and the import validated
    outcome, _, rate = Policy().decide(counts_with(50, 100, verdict), 100)
    assert (outcome, rate) == (Outcome.VALIDATED, 0.0)


def test_bounce_verdicts_are_the_documented_ones() -> None:
    assert (
        {
            V.INVALID_SYNTAX,
            V.DISPOSABLE,
            V.TYPO_DOMAIN,
            V.BLOCKLISTED,
        }
        <= BOUNCE_VERDICTS
        <= {V.INVALID_SYNTAX, V.DISPOSABLE, V.TYPO_DOMAIN, V.BLOCKLISTED, V.INVALID_DOMAIN}
    )


def test_mixed_bounce_verdicts_add_up() -> None:
    # Given 2% invalid, 2% disposable and 1% typo / When decided / Then 5% -> manual review
    counts = {V.INVALID_SYNTAX: 2, V.DISPOSABLE: 2, V.TYPO_DOMAIN: 1, V.ROLE_ACCOUNT: 30, V.VALID: 65}
    outcome, _, rate = Policy().decide(counts, 100)
    assert (outcome, rate) == (Outcome.MANUAL_REVIEW, 0.05)


def test_no_rows_is_validated() -> None:
    outcome, reasons, rate = Policy().decide({}, 0)
    assert (outcome, rate) == (Outcome.VALIDATED, 0.0)
    assert reasons[0].rule == "predicted_bounce_rate"


@pytest.mark.parametrize(
    ("bad", "outcome"), [(4, Outcome.VALIDATED), (5, Outcome.MANUAL_REVIEW), (10, Outcome.DECLINED)]
)
def test_thresholds_through_a_whole_file(bad: int, outcome: Outcome) -> None:
    # Given a file of 100 rows of which ``bad`` are invalid
    rows = [f"bad{i}@@acme.io" for i in range(bad)] + [f"person{i}@acme.io" for i in range(100 - bad)]
    text = "email\n" + "\n".join(rows) + "\n"
    # When the check runs / Then the outcome follows the thresholds
    report = Verification(io.BytesIO(text.encode())).report()
    assert report.rows == 100
    assert report.predicted_bounce_rate == bad / 100
    assert report.outcome is outcome
    assert report.reasons[0].outcome is outcome


# -- environment overrides -------------------------------------------------------------------


def test_decline_threshold_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LISTGUARD_DECLINE_BOUNCE_RATE=0.2
    monkeypatch.setenv("LISTGUARD_DECLINE_BOUNCE_RATE", "0.2")
    policy = Policy()
    # When 15% and then 20% of rows would bounce
    # Then 15% only goes to review, 20% declines
    assert policy.decline_bounce_rate == 0.2
    assert policy.decide(counts_with(15, 100), 100)[0] is Outcome.MANUAL_REVIEW
    outcome, reasons, _ = policy.decide(counts_with(20, 100), 100)
    assert outcome is Outcome.DECLINED
    assert reasons[0].threshold == 0.2
    assert "20%" in reasons[0].message


def test_review_threshold_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LISTGUARD_REVIEW_BOUNCE_RATE=0.02 / When 2% would bounce / Then manual review
    monkeypatch.setenv("LISTGUARD_REVIEW_BOUNCE_RATE", "0.02")
    outcome, reasons, _ = Policy().decide(counts_with(2, 100), 100)
    assert outcome is Outcome.MANUAL_REVIEW
    assert reasons[0].threshold == 0.02


def test_check_thresholds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LISTGUARD_CHECK_MIN_NEW_CONTACTS=10 and LISTGUARD_CHECK_MIN_SHARE_OF_LIST=0.5
    monkeypatch.setenv("LISTGUARD_CHECK_MIN_NEW_CONTACTS", "10")
    monkeypatch.setenv("LISTGUARD_CHECK_MIN_SHARE_OF_LIST", "0.5")
    policy = Policy()
    # When asked / Then the new thresholds apply
    assert policy.verification_required(10, 20) is True
    assert policy.verification_required(10, 21) is False
    assert policy.verification_required(9, 0) is False


def test_max_file_bytes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LISTGUARD_MAX_FILE_BYTES=100 / When a 101-byte file is declared / Then it is unusable
    monkeypatch.setenv("LISTGUARD_MAX_FILE_BYTES", "100")
    assert Policy().max_file_bytes == 100
    with pytest.raises(UnusableFileError):
        Verification(io.BytesIO(b"email\n" + b"a" * 95), size=101)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LISTGUARD_DECLINE_BOUNCE_RATE", "1.5"),
        ("LISTGUARD_REVIEW_BOUNCE_RATE", "-0.1"),
        ("LISTGUARD_CHECK_MIN_NEW_CONTACTS", "many"),
        ("LISTGUARD_MAX_FILE_BYTES", "0"),
    ],
)
def test_invalid_environment_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Policy()


@pytest.mark.parametrize(("rate", "shown"), [(0.075, "7.5%"), (0.125, "12.5%"), (0.025, "2.5%")])
def test_reason_shows_a_fractional_threshold_as_configured(
    monkeypatch: pytest.MonkeyPatch, rate: float, shown: str
) -> None:
    # Given a threshold that is not a whole percentage (LISTGUARD_DECLINE_BOUNCE_RATE=0.075)
    monkeypatch.setenv("LISTGUARD_DECLINE_BOUNCE_RATE", str(rate))
    monkeypatch.setenv("LISTGUARD_REVIEW_BOUNCE_RATE", str(rate / 2))
    # When an import reaches it
    outcome, reasons, _ = Policy().decide(counts_with(int(rate * 1000), 1000), 1000)
    # Then the message names the threshold as configured, not rounded to a whole percent
    assert outcome is Outcome.DECLINED
    threshold_text = reasons[0].message.split("threshold", 1)[1]
    assert shown in threshold_text or shown.replace("%", "0%") in threshold_text


# -- the report ------------------------------------------------------------------------------


MIXED = (
    "email,name\n"
    "ann@acme.io,Ann\n"
    "ann@acme.io,Ann\n"
    "bad@@acme.io,X\n"
    "bob@acme.io,Bob,extra\n"
    "info@acme.io,Team\n"
    "ann@mailinator.com,Temp\n"
    "ann@yahho.com,Typo\n"
    "blocked@acme.io,Blocked\n"
    "cy@acme.io,Cy\n"
)


def test_report_names_every_verdict_and_rates_sum_to_one() -> None:
    # Given a file with several verdicts
    verification = Verification(
        io.BytesIO(MIXED.encode()), options=VerifyOptions(blocklist=frozenset({"blocked@acme.io"}))
    )
    # When the check runs
    report = verification.report()
    # Then every verdict name is in the report, counts add up to the rows and rates to 1
    assert set(report.verdicts) == {v.value for v in Verdict}
    assert set(report.rates) == {v.value for v in Verdict}
    assert report.rows == 9
    assert sum(report.verdicts.values()) == report.rows
    assert sum(report.rates.values()) == pytest.approx(1.0)
    assert report.verdicts == {
        "malformed_row": 1,
        "invalid_syntax": 1,
        "duplicate": 1,
        "blocklisted": 1,
        "disposable": 1,
        "role_account": 1,
        "typo_domain": 1,
        "invalid_domain": 0,
        "missing_consent": 0,
        "valid": 2,
    }
    # 4 of the 7 distinct rows (9 minus the duplicate and the malformed row) would bounce:
    # invalid, disposable, typo, blocklisted
    assert report.predicted_bounce_rate == pytest.approx(4 / 7)
    assert report.outcome is Outcome.DECLINED
    assert report.email_column == "email"
    assert report.separator == ","
    assert report.encoding == "utf-8"
    assert report.file_bytes == len(MIXED.encode())


def test_report_of_a_header_only_file() -> None:
    # Given a header-only file / When the check runs / Then zero rows, zero rates, validated
    report = Verification(io.BytesIO(b"email\n")).report()
    assert report.rows == 0
    assert set(report.verdicts) == {v.value for v in Verdict}
    assert set(report.rates.values()) == {0.0}
    assert report.outcome is Outcome.VALIDATED


def test_report_after_consuming_batches_matches_report_alone() -> None:
    # Given the same file checked twice, once by streaming batches first
    streamed = Verification(io.BytesIO(MIXED.encode()))
    for _ in streamed.batches():
        pass
    # When each reports / Then the reports agree
    assert streamed.report() == Verification(io.BytesIO(MIXED.encode())).report()


def test_copies_of_one_address_do_not_dilute_the_bounce_rate() -> None:
    # Given 1,200 good and 200 invalid addresses, padded with 3,000 copies of one good address
    good = [f"person{i}@acme.io" for i in range(1_200)]
    bad = [f"bad{i}@@acme.io" for i in range(200)]
    padded = good + bad + ["person0@acme.io"] * 3_000
    text = "email\n" + "\n".join(padded) + "\n"
    # When the check runs
    report = Verification(io.BytesIO(text.encode())).report()
    # Then the copies are duplicates, left out of the rate: 200 of 1,400 distinct rows, declined
    assert report.verdicts["duplicate"] == 3_000
    assert report.predicted_bounce_rate == pytest.approx(200 / 1_400)
    assert report.outcome is Outcome.DECLINED
