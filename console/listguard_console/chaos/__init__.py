"""The fault-injection sweep: every AWS call of every flow fails in turn, and nothing may be lost.

- ``calls``: every AWS call the deployed functions make, and the fault armed for one of them;
- ``platform``: what AWS does later on its own (SQS redelivery, schedules, a redelivered S3 event) and
  when a run has come to rest;
- ``state``: a run's end state, normalised; ``invariants``: what must never happen;
- ``flow``: how a flow is described; ``flows``: every flow of the sweep (a new flow joins there);
- ``run``: runs of a flow, each forked from one deployed local cloud; ``sweep``: the sweep and its table.

``python -m listguard_console.chaos`` (``make chaos``) runs it.
"""
