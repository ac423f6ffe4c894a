"""The run folder: written atomically, read back from Python.

A run folder ``DIR`` holds::

    run.json          metadata: tropism version, command line, created time, seeds, versions
    scenario.toml     the resolved scenario (every default filled in)
    summary.json      replicate statistics (see :mod:`tropism.stats`)
    metrics.parquet   readouts over time per condition and replicate
    tracks.parquet    a sample of cell tracks
    fields.zarr       field snapshots: an xarray Dataset with named dimensions and units
    figures/          plots (may be empty)
    report.html       optional, written by the report later

:class:`RunWriter` writes everything into a hidden sibling ``.DIR.partial-<random>`` and renames
it to ``DIR`` in :meth:`RunWriter.commit`, so ``DIR`` either does not exist or is complete: an
interrupted or failed run leaves no half-written folder behind. :func:`read_run` reads a folder
back.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import re
import secrets
import shutil
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from tropism.errors import TropismError

SCENARIO = "scenario.toml"
SUMMARY = "summary.json"
METRICS = "metrics.parquet"
TRACKS = "tracks.parquet"
FIELDS = "fields.zarr"
FIGURES = "figures"
REPORT = "report.html"
META = "run.json"

REQUIRED = (META, SCENARIO, SUMMARY, METRICS)
"""Files every run folder has; ``tracks.parquet`` and ``fields.zarr`` may be absent (an assay
without tracks or fields), and :func:`read_run` then gives None for them."""

TIME_DIM = "time"
"""Name of the time dimension along which field snapshots are chunked."""

_CHUNK_BYTES = 16 * 2**20  # target size of one zarr chunk of a time-dependent variable


def run_metadata(
    seeds: Sequence[int] | int | None = None,
    command: Sequence[str] | None = None,
    **extra: Any,
) -> dict:
    """Metadata of a run, as stored in ``run.json``.

    Parameters
    ----------
    seeds
        The scenario seed, or the seeds of every replicate.
    command
        The command line; defaults to ``sys.argv``.
    **extra
        Further JSON-serialisable entries (they override the defaults).

    Returns
    -------
    dict
        ``tropism_version``, ``command`` (list of words), ``created`` (ISO 8601, UTC),
        ``seeds``, ``python``, ``numpy``, ``platform``, and ``extra``.
    """
    from tropism import __version__

    if isinstance(seeds, int | np.integer):
        seeds = [int(seeds)]
    meta: dict[str, Any] = {
        "tropism_version": __version__,
        "command": list(sys.argv if command is None else command),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seeds": None if seeds is None else [int(s) for s in seeds],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    meta.update(extra)
    return meta


def _jsonable(obj: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and paths for JSON; NaN and inf become None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _looks_like_run(path: Path) -> bool:
    """True for an existing run folder or an empty folder (safe to replace with force)."""
    if not path.is_dir():
        return False
    return (path / META).is_file() or not any(path.iterdir())


class RunWriter:
    """Writes a run folder atomically.

    Everything goes to a hidden temporary sibling folder (``DIR/../.DIR.partial-<random>``)
    and is renamed to ``DIR`` only by :meth:`commit`. On an exception inside the ``with`` block
    (or if :meth:`commit` is never called) the temporary folder is removed and ``DIR`` is
    untouched. An existing ``DIR`` is never overwritten unless ``force=True``; the check happens
    here, before any simulation work. With ``force`` the old folder is moved aside and deleted
    only after the new one is in place; a folder that is neither a run folder nor empty is never
    replaced.

    Parameters
    ----------
    path
        The run folder to create.
    force
        Replace an existing run folder.

    Raises
    ------
    TropismError
        If ``path`` exists and ``force`` is false, if ``path`` exists but is not a run folder,
        or if the temporary folder cannot be created.

    Examples
    --------
    >>> with RunWriter("runs/demo") as run:  # doctest: +SKIP
    ...     run.write_text("scenario.toml", text)
    ...     run.write_json("summary.json", summary)
    ...     run.write_frame("metrics.parquet", metrics)
    ...     run.commit()
    """

    def __init__(self, path: str | Path, force: bool = False):
        self.path: Path = Path(path).expanduser().absolute()
        self.force = bool(force)
        if not self.path.name or self.path.name in (".", ".."):
            raise TropismError(f"not a usable run folder name: {path}")
        self._check_target()
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp: Path = self._make_tmp(parent)
        except OSError as exc:
            raise TropismError(f"cannot write a run folder in {parent}: {exc.strerror}") from None
        self._committed = False
        # remove the partial folder if the writer is dropped (or the program exits) uncommitted
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.tmp), ignore_errors=True)
        (self.tmp / FIGURES).mkdir()

    def _check_target(self) -> None:
        if not (self.path.exists() or self.path.is_symlink()):
            return
        if not self.force:
            raise TropismError(f"run folder exists: {self.path} (use --force to overwrite)")
        if not _looks_like_run(self.path):
            raise TropismError(f"not overwriting {self.path}: it is not a run folder")

    def _make_tmp(self, parent: Path) -> Path:
        # os.mkdir honours the umask, so the committed folder gets the usual permissions
        while True:
            tmp = parent / f".{self.path.name}.partial-{secrets.token_hex(4)}"
            try:
                os.mkdir(tmp)
            except FileExistsError:
                continue
            return tmp

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.abort()

    def abort(self) -> None:
        """Remove the temporary folder; ``DIR`` is left as it was."""
        self._cleanup()

    # -- writing --------------------------------------------------------------------------
    def _target(self, name: str | Path) -> Path:
        if self._committed:
            raise RuntimeError(f"run folder {self.path} is already committed")
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"file name must be relative inside the run folder: {name}")
        target = self.tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, name: str | Path, text: str) -> Path:
        """Write a UTF-8 text file (e.g. ``scenario.toml``); returns its temporary path."""
        target = self._target(name)
        target.write_text(text, encoding="utf-8")
        return target

    def write_json(self, name: str | Path, obj: Any) -> Path:
        """Write ``obj`` as indented JSON (NumPy numbers converted, NaN/inf as null)."""
        text = json.dumps(_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
        return self.write_text(name, text + "\n")

    def write_meta(
        self,
        seeds: Sequence[int] | int | None = None,
        command: Sequence[str] | None = None,
        **extra: Any,
    ) -> Path:
        """Write ``run.json`` from :func:`run_metadata` (commit writes a default one if absent)."""
        return self.write_json(META, run_metadata(seeds, command, **extra))

    def write_frame(self, name: str | Path, df: pd.DataFrame) -> Path:
        """Write a DataFrame to Parquet (pyarrow); the index is kept."""
        target = self._target(name)
        df.to_parquet(target, engine="pyarrow")
        return target

    def write_dataset(self, name: str | Path, ds: xr.Dataset) -> Path:
        """Write an xarray Dataset to a zarr store with consolidated metadata.

        Variables with a ``time`` dimension are stored in chunks of a few snapshots (about
        16 MiB each, all other dimensions whole), so a long run is written and read back one
        block of snapshots at a time instead of as one array.
        """
        target = self._target(name)
        ds = ds.copy(deep=False)
        for var in ds.variables.values():
            if TIME_DIM in var.dims and var.ndim > 0:
                var.encoding.pop("preferred_chunks", None)
                var.encoding["chunks"] = _time_chunks(var)
        kwargs: dict[str, Any] = {"mode": "w", "consolidated": True}
        if _zarr_major() >= 3:
            kwargs["zarr_format"] = 2  # readable by zarr 2 and 3, consolidated metadata in spec
        ds.to_zarr(target, **kwargs)
        return target

    # -- commit ---------------------------------------------------------------------------
    def commit(self) -> Path:
        """Move the finished folder into place and return its path.

        Writes a default ``run.json`` if none was written. Raises :class:`TropismError` if the
        folder appeared meanwhile and ``force`` is false.
        """
        if self._committed:
            raise RuntimeError(f"run folder {self.path} is already committed")
        if not (self.tmp / META).exists():
            self.write_meta()
        self._check_target()
        old: Path | None = None
        if self.path.exists() or self.path.is_symlink():
            old = self.path.parent / f".{self.path.name}.old-{secrets.token_hex(4)}"
            os.rename(self.path, old)
        try:
            os.rename(self.tmp, self.path)
        except OSError:
            if old is not None:
                os.rename(old, self.path)  # put the previous run back
            raise
        self._committed = True
        self._cleanup.detach()
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    old.unlink()
        return self.path


def _zarr_major() -> int:
    import zarr

    return int(zarr.__version__.split(".")[0])


def _time_chunks(var: xr.Variable) -> tuple[int, ...]:
    """Chunk shape: whole along every dimension except time, ~_CHUNK_BYTES per chunk."""
    shape = dict(zip(var.dims, var.shape, strict=True))
    per_step = var.dtype.itemsize * math.prod(n for d, n in shape.items() if d != TIME_DIM)
    steps = max(1, min(shape[TIME_DIM], _CHUNK_BYTES // max(per_step, 1)))
    return tuple(steps if d == TIME_DIM else max(n, 1) for d, n in shape.items())


@dataclass
class RunData:
    """A run folder read back.

    Attributes
    ----------
    path
        The folder.
    scenario_text
        ``scenario.toml`` as text.
    summary
        ``summary.json``.
    metrics
        ``metrics.parquet``.
    tracks
        ``tracks.parquet``, or None when the run has no tracks.
    fields
        ``fields.zarr`` opened lazily (values are read when used), or None.
    meta
        ``run.json``.
    """

    path: Path
    scenario_text: str
    summary: dict
    metrics: pd.DataFrame
    tracks: pd.DataFrame | None
    fields: xr.Dataset | None
    meta: dict = field(default_factory=dict)


def read_run(path: str | Path) -> RunData:
    """Read a run folder written by :class:`RunWriter`.

    Parameters
    ----------
    path
        The run folder.

    Returns
    -------
    RunData

    Raises
    ------
    TropismError
        If ``path`` does not exist or is not a run folder (the message names what is missing),
        or a file in it cannot be read.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise TropismError(f"run folder not found: {root}")
    missing = [name for name in REQUIRED if not (root / name).exists()]
    if missing:
        raise TropismError(f"not a run folder: {root} (missing {', '.join(missing)})")
    try:
        meta = json.loads((root / META).read_text(encoding="utf-8"))
        summary = json.loads((root / SUMMARY).read_text(encoding="utf-8"))
        scenario_text = (root / SCENARIO).read_text(encoding="utf-8")
        metrics = pd.read_parquet(root / METRICS, engine="pyarrow")
        tracks = (
            pd.read_parquet(root / TRACKS, engine="pyarrow") if (root / TRACKS).exists() else None
        )
        fields = None
        if (root / FIELDS).exists():
            # chunks=None: lazy backend arrays without dask; decode_timedelta=False keeps a
            # "time" coordinate in minutes as plain numbers
            fields = xr.open_dataset(
                root / FIELDS,
                engine="zarr",
                chunks=None,
                consolidated=True,
                decode_timedelta=False,
            )
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise TropismError(f"cannot read run folder {root}: {reason}") from None
    return RunData(
        path=root,
        scenario_text=scenario_text,
        summary=summary,
        metrics=metrics,
        tracks=tracks,
        fields=fields,
        meta=meta,
    )


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    """Default run folder ``root/<name>-YYYYmmdd-HHMMSS`` (local time).

    Characters other than letters, digits, ``.``, ``_`` and ``-`` in ``name`` become ``-``.
    If that folder already exists (two runs in the same second), ``-2``, ``-3``, ... is added.
    """
    slug = _SLUG.sub("-", name).strip("-.") or "run"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{slug}-{stamp}"
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate
