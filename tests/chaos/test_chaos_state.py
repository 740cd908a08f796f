"""End states: what two runs may legitimately differ in is normalised away; the rest is compared."""

from __future__ import annotations

from chaos_states import contact, email, import_record, notification, published, state

from listguard_console.chaos.state import State, differences, masked, normalise, stable


def test_times_request_ids_and_revisions_are_normalised() -> None:
    # Given an item as one run wrote it
    item = {
        "received_at": "2026-11-30T12:41:41.123+00:00",
        "gsi1sk": "2026-11-30T12:41:41.123+00:00#n-1",
        "claimed_by": "1f0e0d0c-0b0a-4909-8807-060504030201",
        "note": "request 1f0e0d0c-0b0a-4909-8807-060504030201 failed",
        "rev": 7,
        "task_token": "token",
        "execution_name": "import-0123",
        "lease_expires_at": 1_800_000_000,
        "flag_status": "declined",
    }

    # When it is normalised, Then only what says when or which attempt is gone
    assert normalise(item) == {
        "flag_status": "declined",
        "gsi1sk": "<time>#n-1",
        "note": "request <id> failed",
        "received_at": "<time>",
    }


def test_dates_written_for_people_are_normalised_in_texts() -> None:
    assert normalise("answer by 7 Dec 2026, 12:00 UTC please") == "answer by <date> please"


def test_equal_states_have_no_differences() -> None:
    one = state(contact("a@example.com"), emails=[email("n-1", "hello")])
    assert differences(one, state(contact("a@example.com"), emails=[email("n-1", "hello")])) == []


def test_differences_name_the_missing_the_extra_and_the_changed() -> None:
    expected = state(contact("a@example.com"), contact("b@example.com"), emails=[email("n-1", "hello")])
    actual = state(
        contact("a@example.com", "declined"),
        contact("c@example.com"),
        emails=[email("n-1", "hello"), email("n-1", "hello")],
        executions=["ImportStateMachine: FAILED"],
    )

    found = differences(expected, actual)

    assert 'items: ACCOUNT#acme|CONTACT#a@example.com flag_status: "none" -> "declined"' in found
    assert "items: missing ACCOUNT#acme|CONTACT#b@example.com" in found
    assert any(line.startswith("items: extra ACCOUNT#acme|CONTACT#c@example.com") for line in found)
    assert any(line.startswith("emails: extra 1x") for line in found)
    assert 'executions: extra 1x "ImportStateMachine: FAILED"' in found


def test_a_healed_failure_is_compared_without_its_notices_and_its_failed_execution() -> None:
    # Given a run that failed (told the customer), was retried, and then did what the fault-free run did
    fault_free = state(
        contact("a@example.com"),
        import_record("list", "validated"),
        notification("n-ok", "import_validated", "list"),
        emails=[email("n-ok", "validated")],
        messages=[published("n-ok")],
        executions=["ImportStateMachine: SUCCEEDED"],
    )
    healed = state(
        *fault_free.items.items(),
        notification("n-failed", "import_failed", "list"),
        emails=[*fault_free.emails, email("n-failed", "failed")],
        messages=[*fault_free.messages, published("n-failed")],
        executions=["ImportStateMachine: FAILED", "ImportStateMachine: SUCCEEDED"],
    )

    # Then less the failure's notice and its failed execution, it is the fault-free end state
    assert healed != fault_free
    assert healed.without(["n-failed"], failed_executions=1) == fault_free


def test_notification_ids_derived_from_a_request_id_are_the_same_in_every_run() -> None:
    # Given two runs that each told of one failed delivery, under an id derived from its request id
    def run(request_id: str, notification_id: str) -> State:
        key, note = notification(notification_id, "import_failed", "list")
        note["event_key"] = normalise(f"import:acme:list:etag:import_failed:{request_id}")
        return stable(
            state(
                (key, note),
                emails=[email(notification_id, "failed")],
                messages=[published(notification_id)],
            )
        )

    one = run("1f0e0d0c-0b0a-4909-8807-060504030201", "n-1111111111111111")
    other = run("9f0e0d0c-0b0a-4909-8807-060504030209", "n-2222222222222222")

    # Then, once made stable, they are equal: item key, id, email and message alike
    assert one == other
    (note,) = one.notifications.values()
    assert one.emails[0]["notification"] == note["notification_id"] != "n-1111111111111111"


def test_what_a_flow_says_varies_is_masked_everywhere() -> None:
    one = state(import_record("list", "failed", error="3 attempts failed (ClientError)"))
    other = state(import_record("list", "failed", error="3 attempts failed (ReadTimeoutError)"))

    assert one != other
    assert masked(one, [r"attempts failed \(\w+\)"]) == masked(other, [r"attempts failed \(\w+\)"])
    assert (
        masked(one, [r"attempts failed \(\w+\)"]).imports["ACCOUNT#acme|IMPORT#list"]["error"] == "3 <varies>"
    )
