"""listguard: the guard at the door of a shared email-sending platform.

This package is the Lambda layer: the domain rules (pure Python) and the AWS adapters that
the thin handlers in ``functions/`` call into.
"""
