"""How the sweep judges one faulted run against the fault-free one (hand-made runs)."""

from __future__ import annotations

from chaos_states import contact, email, import_record, notification, state

from listguard_console.chaos.calls import Call, Fault, FaultKind
from listguard_console.chaos.flow import Flow, import_failed
from listguard_console.chaos.invariants import Baseline
from listguard_console.chaos.run import Run
from listguard_console.chaos.state import State
from listguard_console.chaos.sweep import judge

FLOW = Flow(name="test", about="a test flow", steps=(), failure=import_failed("acme", "list"), retry=())
CALLS = [
    Call(1, "ImportCheckFunction", "s3.GetObject"),
    Call(2, "ImportStepsFunction", "dynamodb.UpdateItem", step="finish"),
]
BEFORE = state()
FAULT_FREE = state(
    contact("a@example.com"),
    import_record("list", "validated"),
    notification("n-ok", "import_validated", "list"),
    emails=[email("n-ok", "validated")],
    executions=["ImportStateMachine: SUCCEEDED"],
)
REFERENCE = Run("test", None, CALLS, False, None, BEFORE, FAULT_FREE, FAULT_FREE)
BASELINE = Baseline(BEFORE, FAULT_FREE)
FAULT = Fault(2, FaultKind.LOST_RESPONSE)
FAILED_AND_TOLD = state(
    import_record("list", "failed", error="a step failed; upload the same file again"),
    notification("n-failed", "import_failed", "list"),
    emails=[email("n-failed", "failed")],
    executions=["ImportStateMachine: FAILED"],
)


def faulted(rested: State, final: State, *, retried: bool = False, call: Call = CALLS[1]) -> Run:
    return Run("test", FAULT, CALLS, True, call, BEFORE, rested, final, retried=retried)


def test_a_run_that_ends_as_the_fault_free_one_is_equal() -> None:
    judged = judge(FLOW, REFERENCE, BASELINE, faulted(FAULT_FREE, FAULT_FREE))
    assert (judged.verdict, judged.problems) == ("equal", [])
    assert judged.call == "#2 ImportStepsFunction[finish] dynamodb.UpdateItem"


def test_a_told_failure_that_the_console_retry_heals_is_documented() -> None:
    # Given a run that failed and told the customer; the retry then did what the fault-free run did
    healed = state(
        *FAULT_FREE.items.items(),
        notification("n-failed", "import_failed", "list"),
        emails=[*FAULT_FREE.emails, email("n-failed", "failed")],
        executions=["ImportStateMachine: FAILED", "ImportStateMachine: SUCCEEDED"],
    )

    judged = judge(FLOW, REFERENCE, BASELINE, faulted(FAILED_AND_TOLD, healed, retried=True))

    assert (judged.verdict, judged.problems) == ("documented", [])


def test_a_failure_nobody_was_told_of_is_a_violation() -> None:
    silent = state(import_record("list", "failed", error="a step failed"))

    judged = judge(FLOW, REFERENCE, BASELINE, faulted(silent, FAULT_FREE, retried=True))

    assert judged.verdict == "violation"
    assert judged.problems == ["it failed, but import list failed and nobody was told"]


def test_a_retry_that_does_not_reach_the_fault_free_end_state_is_a_violation() -> None:
    stuck = state(*FAILED_AND_TOLD.items.items(), executions=["ImportStateMachine: FAILED"])

    judged = judge(FLOW, REFERENCE, BASELINE, faulted(FAILED_AND_TOLD, stuck, retried=True))

    assert judged.verdict == "violation"
    assert "retried from the console, it still ends elsewhere than the fault-free run:" in judged.problems
    assert "contact lost: a@example.com" in judged.problems


def test_a_run_that_ends_elsewhere_without_failing_is_a_violation() -> None:
    waiting = state(contact("a@example.com", "pending"), import_record("list", "in_review"))

    judged = judge(FLOW, REFERENCE, BASELINE, faulted(waiting, waiting))

    assert judged.verdict == "violation"
    assert judged.problems[0] == "it ends elsewhere than the fault-free run (import list is in_review):"


def test_a_run_that_left_the_fault_free_path_before_its_fault_is_a_violation() -> None:
    elsewhere = Call(2, "ImportStepsFunction", "dynamodb.GetItem", step="finish")

    judged = judge(FLOW, REFERENCE, BASELINE, faulted(FAULT_FREE, FAULT_FREE, call=elsewhere))

    assert judged.problems == [
        "the run left the fault-free path before its fault: it made #2 ImportStepsFunction[finish] "
        "dynamodb.GetItem"
    ]
