"""The rules the sweep holds every rested state to, on hand-made states."""

from __future__ import annotations

from chaos_states import contact, email, import_record, notification, published, state

from listguard_console.chaos.invariants import Baseline, violations
from listguard_console.chaos.state import State

BEFORE = state(
    contact("kept@example.com", "declined", import_id="earlier"),
    contact("gone@example.com", subscription="blocklisted", import_id="earlier"),
)
REFERENCE = state(
    contact("kept@example.com", "declined", import_id="earlier"),
    contact("gone@example.com", subscription="blocklisted", import_id="earlier"),
    contact("new@example.com", "none"),
    import_record("list", "validated"),
    notification("n-1", "import_validated", "list"),
    emails=[email("n-1", "validated")],
    messages=[published("n-1")],
)
BASELINE = Baseline(before=BEFORE, reference=REFERENCE)


def changed(*items: tuple[str, dict[str, object]], less: str = "") -> State:
    """The fault-free end state with ``items`` written over it, and the contact ``less`` gone."""
    kept = [(key, item) for key, item in REFERENCE.items.items() if not key.endswith(f"#{less}") or not less]
    return state(*kept, *items, emails=REFERENCE.emails, messages=REFERENCE.messages)


def test_the_fault_free_end_state_breaks_no_rule() -> None:
    assert violations(REFERENCE, BASELINE, final=True) == []


def test_a_contact_the_account_had_must_never_disappear() -> None:
    # Given a state where the declined contact is gone
    lost = changed(less="kept@example.com")

    # Then it is lost, even in a failed state that will be retried
    assert "contact lost: kept@example.com" in violations(lost, BASELINE, final=False)


def test_a_contact_of_the_fault_free_run_is_lost_only_once_nothing_more_will_run() -> None:
    # Given a failed state before the import wrote its new contact
    failed = state(*BEFORE.contacts.items(), import_record("list", "failed", error="retry"))

    # Then it is not lost yet (the retry writes it), but at the end it would be
    assert violations(failed, BASELINE, final=False) == []
    assert "contact lost: new@example.com" in violations(failed, BASELINE, final=True)


def test_one_address_stored_twice_is_a_duplicate() -> None:
    # Given the new contact stored a second time under its address as written (not its normalised key)
    twice = changed(contact("NEW@example.com"))

    found = violations(twice, BASELINE, final=True)
    assert "contact duplicated: new@example.com is 2 contacts" in found
    assert (
        "contact duplicated: ACCOUNT#acme|CONTACT#NEW@example.com is not stored under its address's key"
        in found
    )


def test_a_flag_below_its_flag_before_and_after_is_lowered() -> None:
    lowered = changed(contact("kept@example.com", "none"))
    assert "flag lowered: kept@example.com is none" in violations(lowered, BASELINE, final=False)


def test_a_new_contact_is_never_sendable_while_its_import_waits_for_an_operator() -> None:
    # Given the fault-free run ends with the contact sendable (an operator validated it)
    # When a state shows it sendable while its import is still in review
    early = state(
        *BEFORE.contacts.items(), contact("new@example.com", "none"), import_record("list", "in_review")
    )

    # Then the flag was lowered before anyone cleared it
    assert "flag lowered: new@example.com is sendable, but import list is in_review" in violations(
        early, BASELINE, final=False
    )


def test_a_blocklisted_contact_stays_blocklisted() -> None:
    resubscribed = changed(contact("gone@example.com"))
    assert "blocklisted contact re-subscribed: gone@example.com" in violations(
        resubscribed, BASELINE, final=False
    )


def test_a_notification_emailed_or_published_twice_is_sent_twice() -> None:
    twice = state(
        *REFERENCE.items.items(),
        emails=[email("n-1", "validated"), email("n-1", "validated")],
        messages=[published("n-1"), published("n-1")],
    )
    found = violations(twice, BASELINE, final=True)
    assert "notification sent twice: n-1 emailed 2 times" in found
    assert "notification sent twice: n-1 published 2 times" in found


def test_the_same_email_under_two_notification_ids_is_sent_twice() -> None:
    twice = state(*REFERENCE.items.items(), emails=[email("n-1", "validated"), email("n-2", "validated")])
    assert any("received 'validated' 2 times" in line for line in violations(twice, BASELINE, final=True))


def test_a_contact_mailed_twice_is_a_violation() -> None:
    mailed = state(
        *REFERENCE.items.items(),
        emails=[
            email("", "spring sale", to="new@example.com"),
            email("", "spring sale", to="new@example.com"),
        ],
    )
    assert "contact mailed twice: new@example.com received 'spring sale' 2 times" in violations(
        mailed, BASELINE, final=True
    )


def test_a_contact_deleted_with_a_verified_export_is_not_lost() -> None:
    # Given a flow that deletes contacts once a verified export holds them
    exported = Baseline(BEFORE, REFERENCE, verified_exports=lambda _: {"kept@example.com"})
    deleted = changed(less="kept@example.com")

    # Then the exported contact may go; one without an export may not
    assert violations(deleted, exported, final=False) == []
    unexported = Baseline(BEFORE, REFERENCE, verified_exports=lambda _: set())
    assert violations(deleted, unexported, final=False) == [
        "contact lost: kept@example.com (deleted without a verified export)"
    ]
