"""Where the work runs: this process, a local process pool, or a dask.distributed cluster.

Every backend runs the same tasks through the same function, :func:`execute`, and yields each
result as it finishes; the caller (:func:`tropism.fit.sweep.run_points`) does all the writing.
Results do not depend on the backend or the number of workers, because every task carries its
own seed.

- :class:`SerialBackend`: one task after another, here (``workers=1``).
- :class:`ProcessBackend`: a local process pool (``workers`` processes, default all cores). A
  worker that dies (killed, out of memory) breaks the pool; the pool is restarted and the tasks
  that had not finished are submitted again, up to ``max_restarts`` times.
- :class:`DaskBackend`: a ``dask.distributed`` cluster (``--scheduler ADDRESS``, or a ``Client``).
  A worker that dies has its tasks rescheduled by the scheduler on the other workers (up to its
  ``distributed.scheduler.allowed-failures``, default 3); a worker's environment needs tropism
  installed.

The model travels to the workers pickled with cloudpickle (a lambda or a function defined in a
notebook works), once per task; each process keeps the models it has unpickled.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from typing import Any

import cloudpickle

from tropism.errors import TropismError

__all__ = [
    "Backend",
    "DaskBackend",
    "ProcessBackend",
    "SerialBackend",
    "execute",
    "make_backend",
]

#: How often a backend yields ``None`` while waiting (the caller then writes finished points).
TICK = 0.25

_MODELS: dict[str, Any] = {}


def pack(model: Any) -> tuple[str, bytes]:
    """``(digest, cloudpickle bytes)`` of a model, as :func:`execute` takes it."""
    blob = cloudpickle.dumps(model)
    return hashlib.sha256(blob).hexdigest(), blob


def execute(packed: tuple[str, bytes], task: Any) -> Any:
    """Run one task in a worker: ``model.evaluate(task)``.

    A :class:`~tropism.errors.TropismError` is re-raised as a plain one (its subclasses take
    several arguments and do not survive pickling back to the caller).
    """
    digest, blob = packed
    model = _MODELS.get(digest)
    if model is None:
        model = _MODELS[digest] = cloudpickle.loads(blob)
    try:
        return model.evaluate(task)
    except TropismError as exc:
        raise TropismError(str(exc)) from None


class Backend:
    """Runs ``execute(packed, task)`` for every task; yields results as they finish.

    :meth:`run` yields ``(i, result)`` with ``i`` the task's position, or ``None`` every
    :data:`TICK` seconds while nothing finishes. Closing the generator early (the caller stops
    or raises) cancels what has not run. A backend keeps its workers between runs (a fit runs
    many small batches) until :meth:`close`; use it as a context manager.
    """

    name = "backend"

    def run(
        self, packed: tuple[str, bytes], tasks: Sequence[Any]
    ) -> Iterator[tuple[int, Any] | None]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialBackend(Backend):
    """Every task in this process, in order."""

    name = "serial"

    def describe(self) -> str:
        return "this process"

    def run(self, packed, tasks):
        for i, task in enumerate(tasks):
            yield i, execute(packed, task)


def _context():
    """Fork where the platform has it (no re-import of ``__main__``), spawn elsewhere."""
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool's worker processes now (the run was abandoned or a worker died)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()


class ProcessBackend(Backend):
    """A local pool of ``workers`` processes; restarted when a worker dies."""

    name = "processes"

    def __init__(self, workers: int | None = None, max_restarts: int = 3):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_restarts = max_restarts
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"{self.workers} local processes"

    def _abandon(self) -> None:
        if self._pool is not None:
            _stop(self._pool)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, packed, tasks):
        pending = set(range(len(tasks)))
        restarts = 0
        while pending:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=_context())
            pool = self._pool
            broken = finished = False
            try:
                futures = {pool.submit(execute, packed, tasks[i]): i for i in sorted(pending)}
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, timeout=TICK, return_when=FIRST_COMPLETED)
                    if not done:
                        yield None
                    for fut in done:
                        i = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        pending.discard(i)
                        yield i, result
                    if broken:
                        break
                finished = not broken
            finally:
                if not finished:
                    self._abandon()
            if broken:
                restarts += 1
                if restarts > self.max_restarts:
                    raise TropismError(
                        f"a worker process died {restarts} times ({len(pending)} tasks left); "
                        "expected the tasks to run (out of memory? try fewer --workers)"
                    )


class DaskBackend(Backend):
    """A dask.distributed cluster: ``address`` of its scheduler, or an existing ``Client``."""

    name = "dask"

    def __init__(self, scheduler: Any, connect_timeout: float = 20.0):
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self._client = None
        self._owned = False

    def describe(self) -> str:
        address = getattr(self.scheduler, "scheduler", None)
        address = getattr(address, "address", None) or self.scheduler
        return f"dask scheduler {address}"

    def client(self):
        """The ``distributed.Client`` (connected on first use)."""
        if self._client is not None:
            return self._client
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency
            raise TropismError(f"--scheduler needs dask.distributed ({exc})") from None
        if isinstance(self.scheduler, Client):
            self._client, self._owned = self.scheduler, False
            return self._client
        try:
            client = Client(str(self.scheduler), timeout=self.connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise TropismError(
                f"--scheduler = {self.scheduler!r}: expected the address of a running dask "
                f"scheduler, such as 'tcp://127.0.0.1:8786' (could not connect: {exc})"
            ) from None
        self._client, self._owned = client, True
        return client

    def close(self) -> None:
        if self._client is not None and self._owned:
            self._client.close()
        self._client = None

    def run(self, packed, tasks):
        from distributed import as_completed

        client = self.client()
        futures = []
        try:
            futures = [client.submit(execute, packed, t, pure=False) for t in tasks]
            index = {f.key: i for i, f in enumerate(futures)}
            done = as_completed(futures)
            while not done.is_empty():
                batch = done.next_batch(block=False)
                if not batch:
                    time.sleep(0.02)
                    yield None
                    continue
                for fut in batch:
                    i = index[fut.key]
                    if fut.status == "error":
                        exc = fut.exception()
                        if type(exc).__name__ == "KilledWorker":
                            raise TropismError(
                                f"task {i} killed its dask workers repeatedly ({exc}); expected "
                                "it to run (out of memory on the workers?)"
                            ) from None
                        raise exc
                    yield i, fut.result()
                    fut.release()
        finally:
            pending = [f for f in futures if f.status == "pending"]
            if pending:
                client.cancel(pending)


def make_backend(workers: int | None = None, scheduler: Any = None) -> Backend:
    """The backend for ``--workers`` / ``--scheduler``.

    ``scheduler`` (an address or a ``distributed.Client``) wins; otherwise ``workers == 1`` runs
    here and any other value (``None``/0: all cores) a local process pool.
    """
    if scheduler is not None and scheduler != "":
        return DaskBackend(scheduler)
    if workers is not None and workers < 0:
        raise TropismError(f"--workers = {workers}: expected an integer >= 0 (0 = all cores)")
    n = workers or os.cpu_count() or 1
    return SerialBackend() if n == 1 else ProcessBackend(n)
