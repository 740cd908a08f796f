"""The campaign flow: the sending gate and the send ledger, the sample-first deliverability check fed
by SES feedback, the pause that sends unsent new contacts through the import lifecycle's check, and the
requeue job. Modules: content, targets, sending (gate, ledger, rate, SES), steps (the state machine),
checks (the pause's verification check), feedback, requeue, actions (the console's), services."""
