"""Optimistic concurrency: a write names the version it read, and is refused if
the row has changed since. The pages show a message, the API answers 412."""


class StaleVersion(Exception):
    """The row changed since the caller read it; nothing was written."""


def check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and current != expected:
        raise StaleVersion(f"The {what} changed (now version {current}); reload it and try again.")
