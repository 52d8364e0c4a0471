r"""The one way to point the toolkit's work at a Dask cluster.

Every function that can spread its work over a cluster takes ``client=``, and all of them
read it through :func:`client_context`:

* ``None`` (the default): run in this process, as without Dask (nothing to install or start);
* ``"local"``: a :class:`distributed.LocalCluster` on this machine, started for the call and
  closed after it (its worker processes start without re-running your ``__main__`` script);
* a scheduler address such as ``"tcp://10.0.0.5:8786"``: connect to a running cluster
  (``dask scheduler`` / ``dask worker``, dask-jobqueue on SLURM/PBS, dask-kubernetes, ...);
* a :class:`distributed.Client`, used as it is (the caller keeps and closes it);
* a Dask cluster object (e.g. ``dask_jobqueue.SLURMCluster(...)`` after ``.scale(...)``):
  a Client is opened on it for the call.

:func:`map_ordered` runs ``fn(item)`` for every item as one Dask task each (``pure=False``)
and returns the results in the order of the items, so a computation whose randomness is drawn
in the driver (permutation indices, fold seeds) gives identical results for any number of
workers; :func:`scatter_shared` sends a large array to every worker once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._checks import RadiogenomicsError

__all__ = ["DistributedError", "client_context", "map_ordered", "scatter_shared",
           "n_worker_threads", "CLIENT_DOC"]

#: The ``client`` parameter's text, shared by the docstrings of the functions taking it.
CLIENT_DOC = ("None (run in this process), 'local' (a local Dask cluster for the call), a "
              "scheduler address ('tcp://host:8786'), a distributed.Client or a Dask cluster "
              "object (e.g. dask_jobqueue.SLURMCluster); see radiogenomics.distributed")


class DistributedError(RadiogenomicsError):
    """The ``client`` argument is unusable or the cluster cannot be reached (names the fix)."""


@contextlib.contextmanager
def _main_script_hidden():
    """Start worker processes without them running the ``__main__`` script again.

    Dask's worker processes start with the ``spawn`` method, which imports the parent's main
    script again in every worker (as ``__mp_main__``): an ordinary script without an
    ``if __name__ == "__main__":`` guard would then start a cluster inside each worker ("Nanny
    failed to start"), and a guarded one would still repeat its other top-level work in every
    worker.  While the workers start, the main module's ``__file__`` and ``__spec__`` are
    hidden, as they are in Jupyter, so ``spawn`` has nothing to re-import; tasks are pickled by
    value (cloudpickle), so functions defined in the script still reach the workers.
    """
    main = sys.modules.get("__main__")
    keys = ("__file__", "__spec__")
    saved = {} if main is None else {k: vars(main)[k] for k in keys if k in vars(main)}
    try:
        if main is not None:
            vars(main).pop("__file__", None)
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            for k in keys:
                vars(main).pop(k, None)
            vars(main).update(saved)


def _bad_client(c) -> DistributedError:
    return DistributedError(
        f"client={c!r} ({type(c).__name__}) is not a way to reach a Dask cluster; pass None "
        "(run in this process), 'local' (a local Dask cluster), a scheduler address such as "
        "'tcp://10.0.0.5:8786', a distributed.Client, or a Dask cluster object (e.g. "
        "dask_jobqueue.SLURMCluster); for k local workers pass "
        "distributed.Client(distributed.LocalCluster(n_workers=k))")


def _local_cluster(n_workers, processes):
    """A LocalCluster for one call; a worker start failure is explained."""
    from distributed import LocalCluster

    n = n_workers or min(2, os.cpu_count() or 1)
    try:
        with _main_script_hidden():
            # threads of this process: no per-worker memory limit (each would measure the
            # whole process against its share and pause)
            return LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                dashboard_address=":0",
                                **({} if processes else {"memory_limit": 0}))
    except RuntimeError as exc:
        if "failed to start" not in str(exc):
            raise
        raise DistributedError(
            f"the local Dask cluster could not start its worker processes ({exc}); see the "
            "workers' errors above; pass processes=False to run on threads of this process, "
            "or client= a running Dask scheduler") from exc


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address)          # timeout: distributed.comm.timeouts.connect
    except (OSError, TimeoutError, ValueError) as exc:
        raise DistributedError(
            f"could not reach a Dask scheduler at client={address!r} ({exc}); start one "
            "(`dask scheduler`, then `dask worker ADDRESS` on the workers, or dask-jobqueue), "
            "check the address and port, or pass client='local' / None to run on this "
            "machine") from exc


@contextlib.contextmanager
def _quiet_distributed():
    """Silence the scheduler's and nannies' INFO chatter while a local cluster lives."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(max(log.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


@contextlib.contextmanager
def client_context(client, n_workers: int | None = None, processes: bool = True):
    """Open the Dask client that ``client`` names, for the length of a ``with`` block.

    Parameters
    ----------
    client : None, "local", str, distributed.Client or Dask cluster
        ``None`` yields ``None`` (the caller runs in this process); ``"local"`` starts a
        :class:`distributed.LocalCluster` (closed on exit); a string is a scheduler address
        to connect to (the connection is closed on exit, the cluster is not); a Client is
        yielded as it is (never closed here); a cluster object (anything with a
        ``scheduler_address``, e.g. ``dask_jobqueue.SLURMCluster``) gets a Client opened on
        it (closed on exit, the cluster is not).
    n_workers : int, optional
        Workers of a ``"local"`` cluster (one thread each); default ``min(2, cores)``.
    processes : bool, default True
        Whether a ``"local"`` cluster's workers are processes (else threads of this process).

    Yields
    ------
    distributed.Client or None

    Raises
    ------
    DistributedError
        ``client`` is none of the above, a Client is closed, the scheduler cannot be reached,
        or the local workers cannot start; the message says what to pass instead.
    """
    if client is None:
        yield None
        return
    from distributed import Client

    owned: list = []
    with contextlib.ExitStack() as stack:
        if isinstance(client, str) and client == "local":
            stack.enter_context(_quiet_distributed())
            cluster = _local_cluster(n_workers, processes)
            owned = [Client(cluster), cluster]
            cl = owned[0]
        elif isinstance(client, str):
            cl = _connect(client)
            owned = [cl]
        elif isinstance(client, Client):
            if client.status in ("closed", "closing"):
                raise DistributedError(
                    "client= is a closed distributed.Client; open a new one (or pass its "
                    "scheduler address, 'local' or None)")
            cl = client
        elif isinstance(getattr(client, "scheduler_address", None), str):
            cl = Client(client)
            owned = [cl]
        else:
            raise _bad_client(client)
        try:
            yield cl
        finally:
            for obj in owned:
                with contextlib.suppress(Exception):
                    obj.close()


def n_worker_threads(client) -> int:
    """Number of task slots (worker threads) of ``client``'s cluster; 1 for ``None``."""
    if client is None:
        return 1
    return max(1, sum(int(n) for n in client.nthreads().values()))


def scatter_shared(client, obj):
    """Send ``obj`` (e.g. a large array all tasks read) to every worker once.

    Parameters
    ----------
    client : distributed.Client or None
        An open client (from :func:`client_context`); ``None`` returns ``obj`` unchanged.
    obj : object
        The data.

    Returns
    -------
    distributed.Future or object
        A future to pass in ``args``/``kwargs`` of :func:`map_ordered` (each task receives
        the data itself), or ``obj`` when ``client`` is None.
    """
    if client is None:
        return obj
    # wrapped in a list: a tuple or dict is sent as one piece, not element by element
    return client.scatter([obj], broadcast=True, hash=False)[0]


def _task_note(desc: str, i: int, item) -> str:
    text = repr(item)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"raised in Dask task {i} of {desc!r} (item {text})"


def map_ordered(client, fn: Callable, items: Iterable, *, desc: str | None = None,
                progress: bool | None = None, args: tuple = (),
                kwargs: dict | None = None, max_pending: int | None = None,
                on_result: Callable | None = None, return_exceptions: bool = False,
                keep: bool = True) -> list | None:
    """``[fn(item, *args, **kwargs) for item in items]``, one Dask task per item.

    Parameters
    ----------
    client : None, "local", str, distributed.Client or Dask cluster
        Where to run (see :func:`client_context`); ``None`` runs a plain loop in this process.
    fn : callable
        ``fn(item, *args, **kwargs)``; picklable (a module-level function) when the cluster's
        workers are other processes.  Tasks are submitted with ``pure=False``.
    items : iterable
        The task inputs; a generator is consumed lazily, at most ``max_pending`` items ahead
        of the results, so the driver never holds all of them (e.g. permutation chunks).
    desc : str, optional
        Name of the work for the progress bar, the task keys and error notes (default: the
        function's name).
    progress : bool, optional
        Show a progress bar (True), never (False), or when stderr is a terminal (None).
    args, kwargs :
        Extra arguments for every call; futures from :func:`scatter_shared` among them are
        replaced by their data on the worker.
    max_pending : int, optional
        Most tasks submitted and not yet gathered (default ``4 x`` the cluster's worker
        threads, at least 8): bounds the memory of the driver and the scheduler.
    on_result : callable, optional
        ``on_result(i, item, result)``, called in this process as each task finishes (in
        the order they finish), e.g. to write a cache entry before the others are done.
    return_exceptions : bool, default False
        Put a failing task's exception in its place in the results (also for a worker that
        died or a task that could not be sent) instead of raising it.
    keep : bool, default True
        Keep the results and return them; ``False`` hands each result to ``on_result`` only
        and returns None (a streaming reduction whose memory does not grow with the tasks).

    Returns
    -------
    list or None
        The results, in the order of ``items`` whatever order the tasks finish in (None
        with ``keep=False``).

    Raises
    ------
    Exception
        Without ``return_exceptions``: the first failing task's own exception (same type),
        with a note naming the task and its item; the other tasks are cancelled.
    """
    opts = {"fn": fn, "args": args, "kwargs": {} if kwargs is None else kwargs,
            "desc": desc or getattr(fn, "__name__", "task"), "progress": progress,
            "on_result": on_result, "return_exceptions": return_exceptions, "keep": keep}
    if client is None:
        return _map_local(items, **opts)
    with client_context(client) as cl:
        return _map_dask(cl, items, max_pending, **opts)


def _bar(desc, total, progress):
    from ._progress import progress as progress_bar

    disable = None if progress is None else not progress
    return progress_bar(total=total, desc=desc, unit="task", disable=disable, file=sys.stderr)


def _call(item, _fn=None, _args=(), _kwargs=None):
    """Run one task on a worker (the function's own arguments kept apart from ``map``'s)."""
    return _fn(item, *_args, **(_kwargs or {}))


def _map_local(items, *, fn, args, kwargs, desc, progress, on_result,
               return_exceptions, keep) -> list | None:
    total = len(items) if hasattr(items, "__len__") else None
    out = []
    with _bar(desc, total, progress) as bar:
        for i, item in enumerate(items):
            try:
                res = fn(item, *args, **kwargs)
            except Exception as exc:
                if not return_exceptions:
                    raise
                res = exc
            if on_result is not None:
                on_result(i, item, res)
            if keep:
                out.append(res)
            bar.update(1)
    return out if keep else None


def _map_dask(cl, items, max_pending, *, fn, args, kwargs, desc, progress, on_result,
              return_exceptions, keep) -> list | None:
    from distributed import as_completed

    window = max_pending or max(8, 4 * n_worker_threads(cl))
    total = len(items) if hasattr(items, "__len__") else None
    it: Iterator = enumerate(iter(items))
    tag = f"{desc.replace(' ', '_')}-{uuid.uuid4().hex[:12]}"
    results: dict[int, Any] = {}
    pending: dict = {}

    def submit(n: int) -> list:
        batch = list(itertools.islice(it, n))
        if not batch:
            return []
        futs = cl.map(_call, [item for _, item in batch], key=[f"{tag}-{i}" for i, _ in batch],
                      pure=False, _fn=fn, _args=args, _kwargs=kwargs)
        for (i, item), f in zip(batch, futs):
            pending[f.key] = (i, item, f)
        return futs

    ac = as_completed(submit(window))
    with _bar(desc, total, progress) as bar:
        try:
            for done in ac.batches():
                for fut, res in _gathered(cl, done):
                    i, item, _ = pending.pop(fut.key)
                    res = _outcome(res, desc, i, item, return_exceptions)
                    if on_result is not None:
                        on_result(i, item, res)
                    results[i] = res if keep else None
                bar.update(len(done))
                ac.update(submit(len(done)))
        except BaseException:
            for _, _, f in pending.values():
                f.cancel()
            raise
    return [results[i] for i in range(len(results))] if keep else None


def _gathered(cl, done: list) -> list:
    """``(future, result or exception)`` for finished futures: one ``gather`` for the batch,
    or, if any failed, each on its own (the failures as their exceptions)."""
    if all(f.status == "finished" for f in done):
        try:
            return list(zip(done, cl.gather(done)))
        except Exception:  # noqa: BLE001 - one of them was lost meanwhile: one by one below
            pass
    out = []
    for f in done:
        try:
            out.append((f, f.result()))
        except Exception as exc:  # noqa: BLE001 - the task's own error, reported by _outcome
            out.append((f, _Failed(exc)))
    return out


class _Failed:
    """A task's exception, kept apart from results that are exceptions themselves."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def _outcome(res, desc, i, item, return_exceptions):
    """A finished task's result, or its exception (raised, or returned with
    ``return_exceptions``) with a note naming the task."""
    if not isinstance(res, _Failed):
        return res
    exc = res.exc
    exc.add_note(_task_note(desc, i, item))
    if not return_exceptions:
        raise exc
    return exc
