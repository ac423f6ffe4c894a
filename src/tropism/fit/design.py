"""Experimental design: how many replicates detect a given effect, from simulated variability.

A pilot of ``pilot`` simulated replicates of one condition (the control by default) gives the
mean ``mu`` and the replicate standard deviation ``sd`` of a readout's end-point value. The
effect to detect is a fold change ``effect`` (treated mean ``effect * mu``) or an absolute
``difference``. The treated group's SD is ``sd`` (``sd_model="equal"``) or ``effect * sd``
(``"cv"``: a constant coefficient of variation, as counts tend to have).

Power of a two-sided Welch t-test at level ``alpha`` with ``n`` replicates per group, from the
non-central t distribution:

    se = sqrt(sd1^2 / n + sd2^2 / n),  df = Welch-Satterthwaite,  ncp = |delta| / se,
    power = P(T > t_{1-alpha/2, df}) + P(T < -t_{1-alpha/2, df}),  T ~ nct(df, ncp).

The required ``n`` is the smallest with power >= the target. The pilot's SD is itself uncertain:
its 95 % chi-square interval gives a range for ``n`` (``n_low`` with the lower SD, ``n_high``
with the upper).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from tropism.errors import TropismError
from tropism.fit.backend import make_backend
from tropism.fit.sensitivity import point_outputs
from tropism.fit.sweep import PointStore, make_point, prepare, run_points

__all__ = ["DesignResult", "design", "required_n", "welch_power"]

SD_MODELS = ("equal", "cv")


def welch_power(n: int, delta: float, sd1: float, sd2: float, alpha: float = 0.05) -> float:
    """Power of a two-sided Welch t-test with ``n`` replicates per group."""
    if n < 2:
        return 0.0
    v1, v2 = sd1**2 / n, sd2**2 / n
    se = math.sqrt(v1 + v2)
    if se == 0:
        return 1.0 if delta != 0 else alpha
    df = (v1 + v2) ** 2 / ((v1**2 + v2**2) / (n - 1)) if (v1 + v2) > 0 else 2 * n - 2
    ncp = abs(delta) / se
    t = st.t.ppf(1 - alpha / 2, df)
    return float(st.nct.sf(t, df, ncp) + st.nct.cdf(-t, df, ncp))


def required_n(
    delta: float, sd1: float, sd2: float, power: float, alpha: float, max_n: int
) -> int | None:
    """The smallest ``n`` (2..max_n) with at least ``power``; None if none reaches it."""
    for n in range(2, max_n + 1):
        if welch_power(n, delta, sd1, sd2, alpha) >= power:
            return n
    return None


@dataclass
class DesignResult:
    """Replicates needed to detect an effect.

    Attributes
    ----------
    n
        Replicates per group for the target power (None: more than ``max_n``).
    n_low, n_high
        The same with the lower and upper end of the SD's 95 % CI.
    mean, sd, sd_low, sd_high
        The pilot's mean and SD (with the SD's 95 % CI) of the readout.
    delta
        The difference to detect (treated - control mean).
    curve
        ``n, power, power_low, power_high`` (power_low with the upper SD).
    pilot
        The pilot's replicate values.
    """

    n: int | None
    n_low: int | None
    n_high: int | None
    mean: float
    sd: float
    sd_low: float
    sd_high: float
    delta: float
    effect: float | None
    power: float
    alpha: float
    readout: str
    condition: str
    sd_model: str
    curve: pd.DataFrame
    pilot: np.ndarray
    path: Path | None = None

    def plot(self):
        """Power against replicates per group."""
        from tropism.fit.plots import plot_power

        what = f"x{self.effect:g}" if self.effect is not None else f"{self.delta:+.3g}"
        title = f"{self.readout} in {self.condition!r}: detect {what} (alpha {self.alpha:g})"
        return plot_power(self.curve, self.power, self.n, title)

    def summary(self) -> str:
        """One paragraph for people."""
        what = (
            f"a {self.effect:g}-fold change"
            if self.effect is not None
            else f"a difference of {self.delta:+.3g}"
        )
        n = f"{self.n}" if self.n is not None else f"more than {int(self.curve['n'].max())}"
        rng = " to ".join("?" if v is None else str(v) for v in (self.n_low, self.n_high))
        return (
            f"{self.readout} in {self.condition!r}: mean {self.mean:.3g}, replicate SD "
            f"{self.sd:.3g} (95 % CI {self.sd_low:.3g} to {self.sd_high:.3g}) from "
            f"{len(self.pilot)} simulated replicates. To detect {what} ({self.mean:.3g} -> "
            f"{self.mean + self.delta:.3g}) with power {self.power:g} at alpha {self.alpha:g} "
            f"(two-sided Welch t-test, {self.sd_model} SD): {n} replicates per group ({rng} "
            "over the SD's CI)."
        )


def design(
    scenario: str | Path | None = None,
    effect: float | None = None,
    readout: str = "fmi",
    *,
    difference: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    condition: str | None = None,
    population: str | None = None,
    pilot: int = 12,
    sd_model: str = "equal",
    max_n: int = 100,
    set: Sequence[str] | None = None,  # noqa: A002 - mirrors --set
    seed: int | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    figures: bool = True,
    model: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> DesignResult:
    """Replicates per group needed to detect ``effect`` (fold) or ``difference`` in ``readout``.

    See :mod:`tropism.fit.design`. ``condition`` defaults to the scenario's first (the
    control); ``pilot`` simulated replicates estimate the SD.
    """
    if (effect is None) == (difference is None):
        raise TropismError("expected exactly one of --effect (fold change) and --difference")
    if effect is not None and not (effect > 0 and effect != 1 and math.isfinite(effect)):
        raise TropismError(f"--effect = {effect}: expected a fold change > 0 other than 1")
    if difference is not None and not (difference != 0 and math.isfinite(difference)):
        raise TropismError(f"--difference = {difference}: expected a non-zero difference")
    if not 0 < power < 1:
        raise TropismError(f"--power = {power}: expected a value between 0 and 1")
    if not 0 < alpha < 1:
        raise TropismError(f"--alpha = {alpha}: expected a value between 0 and 1")
    if pilot < 3:
        raise TropismError(f"--pilot = {pilot}: expected at least 3 replicates")
    if sd_model not in SD_MODELS:
        raise TropismError(f"--sd-model = {sd_model!r}: expected one of {', '.join(SD_MODELS)}")
    if sd_model == "cv" and effect is None:
        raise TropismError("--sd-model cv: expected --effect (a fold change scales the SD)")
    if max_n < 2:
        raise TropismError(f"--max-n = {max_n}: expected an integer >= 2")
    model = prepare(
        scenario,
        set,
        model=model,
        conditions=[condition] if condition else None,
        replicates=pilot,
        seed=seed,
    )
    cond = condition or model.conditions[0]
    model.drop_conditions([c for c in model.conditions if c != cond])
    point = make_point(0, [], [], model.seed)
    plan = {"kind": "design", "model": model.identity(), "pilot": pilot}

    def run(folder: Path) -> pd.DataFrame:
        store = PointStore(folder, plan, force=force)
        with make_backend(workers, scheduler) as backend:
            run_points(model, [point], store, backend, progress=progress, readouts=[readout])
        return store.rows([point])

    if out is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tropism-design-") as tmp:
            rows = run(Path(tmp))
    else:
        rows = run(Path(out))
    point_outputs(rows, 1, readout, cond, population)  # checks readout and population
    sel = rows[(rows["condition"] == cond) & (rows["readout"] == readout)]
    if population is not None:
        sel = sel[sel["population"] == population]
    sel = sel[sel["time"] == sel["time"].max()]
    values = sel.sort_values("replicate")["value"].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 3:
        raise TropismError(
            f"--readout {readout}: defined in {values.size} pilot replicates; expected >= 3"
        )
    mu = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    k = values.size
    sd_low = sd * math.sqrt((k - 1) / st.chi2.ppf(0.975, k - 1))
    sd_high = sd * math.sqrt((k - 1) / st.chi2.ppf(0.025, k - 1))
    if effect is not None:
        half = st.t.ppf(0.975, k - 1) * sd / math.sqrt(k)
        if abs(mu) <= half:
            raise TropismError(
                f"--effect {effect:g}: the mean of {readout} in {cond!r} ({mu:.3g}, 95 % CI "
                f"{mu - half:.3g} to {mu + half:.3g}) is not distinguishable from 0, so a fold "
                "change is undefined; expected --difference D or another --condition"
            )
        delta = (effect - 1.0) * mu
    else:
        delta = float(difference)
    scale = abs(effect) if (sd_model == "cv" and effect is not None) else 1.0

    def n_for(s: float) -> int | None:
        return required_n(delta, s, s * scale, power, alpha, max_n)

    n, n_low, n_high = n_for(sd), n_for(sd_low), n_for(sd_high)
    top = min(max_n, max(10, 2 * (n_high or n or max_n)))
    ns = np.arange(2, top + 1)
    curve = pd.DataFrame(
        {
            "n": ns,
            "power": [welch_power(int(m), delta, sd, sd * scale, alpha) for m in ns],
            "power_low": [welch_power(int(m), delta, sd_high, sd_high * scale, alpha) for m in ns],
            "power_high": [welch_power(int(m), delta, sd_low, sd_low * scale, alpha) for m in ns],
        }
    )
    result = DesignResult(
        n=n,
        n_low=n_low,
        n_high=n_high,
        mean=mu,
        sd=sd,
        sd_low=sd_low,
        sd_high=sd_high,
        delta=delta,
        effect=effect,
        power=power,
        alpha=alpha,
        readout=readout,
        condition=cond,
        sd_model=sd_model,
        curve=curve,
        pilot=values,
        path=Path(out) if out is not None else None,
    )
    if out is not None:
        folder = Path(out)
        curve.to_csv(folder / "power.csv", index=False)
        info = {k: v for k, v in result.__dict__.items() if k not in ("curve", "pilot", "path")}
        info["pilot"] = values.tolist()
        info["summary"] = result.summary()
        (folder / "design.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if figures:
            (folder / "figures").mkdir(exist_ok=True)
            result.plot().savefig(folder / "figures" / f"power-{readout}.png", dpi=120)
    return result
