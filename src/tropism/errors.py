"""User-facing errors: one line that names what to fix.

Anything a user can cause (a bad scenario file, an unknown name, a run folder that
already exists) raises :class:`TropismError`; the command line prints its message
on one line and exits with status 2. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

from typing import Any


class TropismError(Exception):
    """An error the user can fix; its message is one line."""


class ScenarioError(TropismError):
    """A scenario value is wrong.

    Parameters
    ----------
    key
        Dotted key path, e.g. ``"cells.msc.count"``.
    value
        The offending value as written by the user.
    expected
        What would have been accepted, e.g. ``"a concentration such as '100 ng/mL'"``.
    """

    def __init__(self, key: str, value: Any, expected: str):
        self.key = key
        self.value = value
        self.expected = expected
        shown = _short(value)
        super().__init__(f"{key} = {shown}: expected {expected}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
