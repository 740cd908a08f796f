"""The sweep's one moto internal: Step Functions retries at once, and a task token's answer is seen soon."""

from __future__ import annotations

from listguard_console.localcloud import motocompat


def test_step_functions_wait_as_moto_does_outside_the_block_and_not_inside() -> None:
    assert motocompat.step_functions_wait() == (True, 0.5)

    with motocompat.step_functions_without_waiting():
        assert motocompat.step_functions_wait() == (False, 0.005)

    assert motocompat.step_functions_wait() == (True, 0.5)
