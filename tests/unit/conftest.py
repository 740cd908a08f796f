"""Hypothesis profiles for the unit tests.

``fast`` (the default, what ``make test`` runs): 100 examples a property, enough to catch a broken
rule at once while the suite stays quick. ``thorough`` (``HYPOTHESIS_PROFILE=thorough make test``):
2,000 examples a property, for a change to the reader, the syntax fast path or the writers.
Neither has a deadline: the time of one example depends on the machine's load, not on the code.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"

settings.register_profile(
    "fast", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get(PROFILE_VARIABLE, "fast"))
