"""Typed errors of the verification check."""


class UnusableFileError(Exception):
    """The file itself cannot be used (empty, not text, compressed, no email column, too large).

    The message is one line: what is wrong and what to do about it.
    """
