"""The one error the local cloud raises for what its user can fix."""


class LocalCloudError(Exception):
    """The local cloud could not start or be reached; the message says what failed and why."""
