"""``--vary KEY=SPEC``: the values of one scenario key that a sweep, a sensitivity analysis or a
fit explores.

Three forms of ``SPEC`` (everything after the first ``=``):

- a list, ``"a,b,c"``: ``"0 ng/mL,50 ng/mL,100 ng/mL"``, ``"100,200,400"``, ``"steady,empty"``;
- a grid, ``"lo:hi:n"`` (evenly spaced) or ``"lo:hi:n:log"`` (log-spaced):
  ``"0:100 ng/mL:5"``, ``"1 nM:100 nM:3:log"``;
- a range, ``"lo..hi"`` or ``"lo..hi:log"``: sampled by a Latin hypercube or a Sobol sequence in a
  sweep, by SALib in a sensitivity analysis, the bounds of a free parameter in a fit:
  ``"0.05..0.5 um/min"``, ``"100..10000:log"``.

A unit written on one bound applies to both (``"0:100 ng/mL:5"`` is 0 to 100 ng/mL); a bound in
another unit of the same kind is converted to the first one's. Values keep the user's unit: the
dataset's column for the key, the plots' axes and the fitted value are in it, and each point's
override is written ``"KEY=VALUE UNIT"`` for the scenario loader, which converts to engine units.
Plain numbers without a unit are integers when every number of the spec is written as one (a
cell count, a receptor number); write ``"1.0..10.0"`` for a continuous unitless parameter.
List entries that are not numbers (``"steady,empty"``, ``"true,false"``) are categorical.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tropism.errors import ScenarioError, TropismError

__all__ = ["VarySpec", "parse_vary", "parse_vary_list"]

# A number as Python's float() reads it (no inf/nan), then the unit text.
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")

_FORMS = (
    "a list 'a,b,c', a grid 'lo:hi:n' or 'lo:hi:n:log', or a range 'lo..hi' or 'lo..hi:log' "
    "(with units, e.g. '0.05..0.5 um/min')"
)


@dataclass(frozen=True)
class VarySpec:
    """One varied key.

    Attributes
    ----------
    key
        Dotted scenario key, e.g. ``"cells.msc.chemotactic_speed"``.
    kind
        ``"list"``, ``"grid"`` or ``"range"``.
    values
        The values of a list or grid (numbers in ``unit``, or text for a categorical list);
        empty for a range.
    lo, hi
        Bounds of a grid or range (in ``unit``); ``None`` for a list.
    unit
        The user's unit (``""`` for none).
    log
        Log spacing (grid) or log-uniform sampling (range).
    integer
        Values are whole numbers (unitless specs written with integers only).
    numeric
        Values are numbers (``False`` for a categorical list).
    text
        The spec as the user wrote it, ``"KEY=SPEC"``.
    """

    key: str
    kind: Literal["list", "grid", "range"]
    values: tuple[Any, ...]
    lo: float | None
    hi: float | None
    unit: str
    log: bool
    integer: bool
    numeric: bool
    text: str

    @property
    def label(self) -> str:
        """The key with its unit, for tables and axes: ``"cells.msc.speed (um/min)"``."""
        return f"{self.key} ({self.unit})" if self.unit else self.key

    def format(self, value: Any, unit: bool = True) -> str:
        """The value as the scenario loader reads it: ``"0.1 um/min"``, ``"200"``, ``"steady"``
        (without the unit when ``unit`` is false)."""
        if not self.numeric:
            return str(value)
        if self.integer:
            text = str(int(value))
        else:
            v = float(value)
            text = str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
        return f"{text} {self.unit}" if self.unit and unit else text

    def override(self, value: Any) -> str:
        """``"KEY=VALUE"`` for :func:`tropism.scenario.load_scenario`."""
        return f"{self.key}={self.format(value)}"

    def from_unit(self, u: float) -> float | int:
        """Map ``u`` in [0, 1] onto the range (log-uniformly when ``log``)."""
        if self.lo is None or self.hi is None:
            raise ValueError(f"{self.key}: only a grid or range maps [0, 1]")
        if self.log:
            value = math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))
        else:
            value = self.lo + u * (self.hi - self.lo)
        value = min(max(value, min(self.lo, self.hi)), max(self.lo, self.hi))
        return int(round(value)) if self.integer else float(value)

    def to_unit(self, value: float) -> float:
        """Inverse of :meth:`from_unit`."""
        if self.lo is None or self.hi is None:
            raise ValueError(f"{self.key}: only a grid or range maps [0, 1]")
        if self.hi == self.lo:
            return 0.0
        if self.log:
            return (math.log(value) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (value - self.lo) / (self.hi - self.lo)


def _number(text: str) -> tuple[float, str, bool] | None:
    """``(number, unit, written as an integer)`` or None when ``text`` is not a number."""
    match = _NUMBER.match(text)
    if match is None:
        return None
    number = float(match.group(1))
    if not math.isfinite(number):
        return None
    return number, match.group(2), _INTEGER.match(match.group(1)) is not None


def _convert(number: float, unit: str, target: str, key: str, spec: str) -> float:
    """``number`` in ``unit`` expressed in ``target`` (both non-empty)."""
    if unit == target:
        return number
    from tropism.units import ureg

    def parse(u: str):
        return ureg.parse_expression("1" + u if u.startswith("/") else u)

    try:
        return float((number * parse(unit)).to(parse(target).units).magnitude / parse(target).m)
    except Exception:  # pint raises many kinds for unknown or incompatible units
        raise ScenarioError(
            key, spec, f"values in one unit ({unit!r} cannot be converted to {target!r})"
        ) from None


def _common_unit(parts: list[tuple[float, str, bool]], key: str, spec: str) -> tuple[list, str]:
    """Numbers in the first unit written; the unit of a bare number is the common one."""
    units = [u for _, u, _ in parts if u]
    unit = units[0] if units else ""
    return [_convert(n, u, unit, key, spec) if u else n for n, u, _ in parts], unit


def parse_vary(text: str) -> VarySpec:
    """Parse ``"KEY=SPEC"`` (see the module docstring).

    Raises
    ------
    ScenarioError
        Malformed spec: names the key, the spec and the accepted forms.
    """
    if not isinstance(text, str) or "=" not in text:
        raise ScenarioError("--vary", text, f"KEY=SPEC with SPEC {_FORMS}")
    key, _, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not key or not spec:
        raise ScenarioError("--vary", text, f"KEY=SPEC with SPEC {_FORMS}")
    body, log = spec, False
    if body.lower().endswith(":log"):
        body, log = body[: -len(":log")].strip(), True
    if ".." in body:
        return _range(key, spec, body, log, text)
    if ":" in body:
        return _grid(key, spec, body, log, text)
    if log:
        raise ScenarioError(key, spec, f"{_FORMS}; ':log' goes with a grid or a range")
    return _list(key, spec, body, text)


def _range(key: str, spec: str, body: str, log: bool, text: str) -> VarySpec:
    lo_text, _, hi_text = body.partition("..")
    lo, hi = _number(lo_text), _number(hi_text)
    if lo is None or hi is None:
        raise ScenarioError(key, spec, f"a range 'lo..hi' of two numbers ({_FORMS})")
    (lo_v, hi_v), unit = _common_unit([lo, hi], key, spec)
    if not lo_v < hi_v:
        raise ScenarioError(key, spec, "a range 'lo..hi' with lo < hi")
    if log and lo_v <= 0:
        raise ScenarioError(key, spec, "a log range with lo > 0")
    integer = not unit and lo[2] and hi[2]
    return VarySpec(key, "range", (), lo_v, hi_v, unit, log, integer, True, text)


def _grid(key: str, spec: str, body: str, log: bool, text: str) -> VarySpec:
    parts = [p.strip() for p in body.split(":")]
    if len(parts) != 3:
        raise ScenarioError(key, spec, f"a grid 'lo:hi:n' ({_FORMS})")
    lo, hi = _number(parts[0]), _number(parts[1])
    if lo is None or hi is None:
        raise ScenarioError(key, spec, f"a grid 'lo:hi:n' with numbers lo and hi ({_FORMS})")
    if not _INTEGER.match(parts[2]) or int(parts[2]) < 1:
        raise ScenarioError(key, spec, "a grid 'lo:hi:n' with n a whole number >= 1")
    n = int(parts[2])
    (lo_v, hi_v), unit = _common_unit([lo, hi], key, spec)
    if log and (lo_v <= 0 or hi_v <= 0):
        raise ScenarioError(key, spec, "a log grid with lo > 0 and hi > 0")
    if n == 1:
        raw = np.array([lo_v])
    elif log:
        raw = np.geomspace(lo_v, hi_v, n)
        raw[0], raw[-1] = lo_v, hi_v  # exact ends
    else:
        raw = np.linspace(lo_v, hi_v, n)
    integer = not unit and lo[2] and hi[2]
    values = [int(round(v)) if integer else float(v) for v in raw]
    values = list(dict.fromkeys(values))  # rounding may repeat an integer
    return VarySpec(key, "grid", tuple(values), lo_v, hi_v, unit, log, integer, True, text)


def _list(key: str, spec: str, body: str, text: str) -> VarySpec:
    items = [p.strip() for p in body.split(",")]
    if any(not p for p in items):
        raise ScenarioError(key, spec, f"a list 'a,b,c' without empty entries ({_FORMS})")
    numbers = [_number(p) for p in items]
    if any(n is None for n in numbers):
        # categorical: text values as written (the loader checks them per point)
        values = tuple(dict.fromkeys(items))
        return VarySpec(key, "list", values, None, None, "", False, False, False, text)
    converted, unit = _common_unit(numbers, key, spec)  # type: ignore[arg-type]
    integer = not unit and all(n[2] for n in numbers)  # type: ignore[index]
    values = tuple(dict.fromkeys(int(v) if integer else float(v) for v in converted))
    lo, hi = min(values), max(values)
    return VarySpec(key, "list", values, lo, hi, unit, False, integer, True, text)


def parse_vary_list(texts: Sequence[str] | None, option: str = "--vary") -> list[VarySpec]:
    """Parse every ``KEY=SPEC``; a key given twice is an error."""
    specs = [parse_vary(t) for t in texts or []]
    seen: set[str] = set()
    for s in specs:
        if s.key in seen:
            raise TropismError(f"{option} {s.key}: given twice; expected each key once")
        seen.add(s.key)
    return specs


def require_ranges(specs: Sequence[VarySpec], option: str) -> None:
    """Sensitivity analysis and fits need ranges ``lo..hi`` for every key."""
    for s in specs:
        if s.kind != "range":
            raise ScenarioError(
                s.key,
                s.text.partition("=")[2],
                f"a range 'lo..hi' for {option} (e.g. '0.05..0.5 um/min')",
            )
