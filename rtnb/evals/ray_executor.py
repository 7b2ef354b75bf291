"""``rtnb eval --ray``: the calls of a suite as tasks on Ray actors, each with a warm engine.

:class:`RayExecutor` implements the :class:`~rtnb.evals.executors.Executor` seam: it maps
:func:`~rtnb.evals.runner.run_call` over :class:`~rtnb.evals.spec.CallSpec`\\ s and yields
the call entries in completion order, so the results (and the verdicts) are the same as
with the local executor.

- ``address="local"`` starts a Ray cluster on this machine (loopback only, no dashboard,
  a small object store; stopped again by :meth:`RayExecutor.close`, at the end of
  :meth:`~RayExecutor.map` unless used as a context manager). ``"auto"`` joins the cluster
  this machine belongs to and ``"ray://host:10001"`` one through Ray Client; those are
  left running.
- ``workers`` actors each start the backend once (``warm_backend`` in ``__init__``: for
  ``"local"``, an offline engine in the actor's process, models loaded), then run one call
  at a time; the next call goes to whichever actor finishes first (``ray.wait``).
- **What reaches the workers.** The suite's folder (the YAML, the agent module beside it,
  whatever else it holds, up to :data:`MAX_FOLDER_BYTES`; ``.git``, ``__pycache__`` and
  ``.ipynb_checkpoints`` are left out) goes into Ray's object store once; each actor
  unpacks it into a folder of its own and runs the suite from there, so no shared
  filesystem is assumed. rtnb itself and its models must be installed on the workers (the
  same version, e.g. ``pip install "rtnb[ray]"`` in the cluster's image).
- **Recordings come back.** With ``record_dir`` set, the actor records into a folder of
  its own and sends the files back with the entry; they are written under ``record_dir``
  on this machine, at the path the local executor would use.

Ray is imported only here, and this module only when ``--ray`` is asked for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray

from .spec import CallSpec, ExecutorUnavailable

__all__ = ["RayExecutor", "start_local_cluster", "pack_folder", "MAX_FOLDER_BYTES"]

#: Folders left out of the suite folder shipped to the workers.
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", "node_modules"}

#: The most a suite folder may hold to be shipped to the workers.
MAX_FOLDER_BYTES = 64 * 2**20

#: A local cluster's object store: results and recordings are small (bytes to a few MB).
OBJECT_STORE_BYTES = 128 * 2**20

#: A local cluster's Ray settings: a loaded machine starts Ray's Python workers slowly (each
#: imports Ray; 15-50 s measured on a busy 2-core machine), and Ray's default gives up after
#: 60 s; no metrics exporter (nothing reads it, and it logs errors while it starts).
LOCAL_SYSTEM_CONFIG = {"worker_register_timeout_seconds": 300,
                       "enable_metrics_collection": False}


def start_local_cluster(num_cpus: int) -> None:
    """Start a Ray cluster on this machine and connect this process to it.

    Tuned for a small machine: loopback only, no dashboard, no usage stats, Ray's logs
    kept out of this process's output, a 128 MiB object store. ``num_cpus`` is the number
    of logical CPUs Ray schedules on (one per actor), not a limit on real cores.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # no FutureWarning
    # this process's own Ray core worker reads its settings from the environment too
    os.environ.setdefault("RAY_enable_metrics_collection", "0")
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING, object_store_memory=OBJECT_STORE_BYTES,
             _node_ip_address="127.0.0.1", _system_config=LOCAL_SYSTEM_CONFIG)


def pack_folder(folder: str | Path, skip: Sequence[str | Path] = ()) -> dict[str, bytes]:
    """The files under ``folder`` (relative POSIX path -> bytes), without :data:`SKIP_DIRS`
    and the folders in ``skip``; :class:`ValueError` past :data:`MAX_FOLDER_BYTES`."""
    root = Path(folder).resolve()
    skipped = {Path(p).resolve() for p in skip}
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and (here / d).resolve() not in skipped)
        for name in sorted(filenames):
            path = here / name
            if not path.is_file():
                continue
            total += path.stat().st_size
            if total > MAX_FOLDER_BYTES:
                raise ValueError(
                    f"the suite's folder {root} holds more than "
                    f"{MAX_FOLDER_BYTES // 2**20} MiB; move the suite (and its agent "
                    f"module) into a folder of its own to run it on Ray")
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def unpack_folder(files: dict[str, bytes], folder: Path) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class CallWorker:
    """A Ray actor's body: the suite's folder unpacked, one warm backend per backend name,
    one call at a time."""

    def __init__(self, folder_files: dict[str, bytes], backends: Sequence[str]) -> None:
        from .runner import warm_backend

        self.folder = Path(tempfile.mkdtemp(prefix="rtnb-ray-suite-"))
        unpack_folder(folder_files, self.folder)
        started = time.perf_counter()
        for backend in backends:
            warm_backend(backend)
        self.warm_s = time.perf_counter() - started

    def ready(self) -> dict[str, Any]:
        """The actor's pid and how long warming its backends took."""
        return {"pid": os.getpid(), "warm_s": round(self.warm_s, 3)}

    def run(self, spec: CallSpec) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Run one call; return its entry and, if it was recorded, the recording's files."""
        from .runner import run_call

        spec = dataclasses.replace(spec, suite_path=str(self.folder / spec.suite_path))
        if spec.record_dir is None:
            return run_call(spec), {}
        with tempfile.TemporaryDirectory(prefix="rtnb-ray-") as tmp:
            entry = run_call(dataclasses.replace(spec, record_dir=tmp))
            files = {}
            if entry.get("recording"):
                folder = Path(entry["recording"])
                files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                         if p.is_file()}
            return entry, files


class RayExecutor:
    """Run calls on ``workers`` Ray actors, each holding a warm engine.

    ``address``: ``"local"`` (start a cluster here), ``"auto"`` (join this machine's
    cluster) or ``"ray://host:10001"`` (Ray Client). Connects at construction, so an
    unreachable cluster is reported before anything runs (:class:`ExecutorUnavailable`,
    the CLI's exit 2). If this process is already connected to Ray, that connection is
    used and left open.
    """

    def __init__(self, address: str = "local", workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if not address:
            raise ValueError("address must be 'local', 'auto' or ray://host:port")
        self.address = address
        self.workers = workers
        self.owned = False
        self.in_context = False
        #: Seconds spent connecting/starting the cluster, creating the actors (each warming
        #: its engine) and in the last map; the actors' own warm-up times.
        self.timings: dict[str, Any] = {}
        self._connect()

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, workers={self.workers})"

    def __enter__(self) -> RayExecutor:
        self.in_context = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.in_context = False
        self.close()

    def _connect(self) -> None:
        if ray.is_initialized():
            return
        started = time.perf_counter()
        try:
            if self.address == "local":
                start_local_cluster(self.workers)
            else:
                ray.init(address=self.address, log_to_driver=False,
                         logging_level=logging.WARNING)
        except Exception as exc:  # ConnectionError, a timeout, a Ray version mismatch
            with contextlib.suppress(Exception):
                ray.shutdown()
            what = ("could not start a local Ray cluster" if self.address == "local"
                    else f"could not reach a Ray cluster at {self.address}")
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ExecutorUnavailable(
                f"--ray {self.address}: {what} ({type(exc).__name__}: {reason[:200]})"
            ) from None
        self.owned = True
        self.timings["connect_s"] = round(time.perf_counter() - started, 3)

    def close(self) -> None:
        """Disconnect; a cluster this executor started stops with it."""
        if self.owned and ray.is_initialized():
            ray.shutdown()
        self.owned = False

    def map(self, specs: Sequence[CallSpec]) -> Iterator[dict[str, Any]]:
        """Run every spec on the actors; yield each call entry as it completes."""
        specs = list(specs)
        try:
            if specs:
                yield from self._map(specs)
        finally:
            if not self.in_context:
                self.close()

    def _map(self, specs: list[CallSpec]) -> Iterator[dict[str, Any]]:
        self._connect()  # again after a close()
        folders = {str(Path(s.suite_path).resolve().parent) for s in specs}
        if len(folders) != 1:
            raise ValueError(f"one suite at a time, got suites in {sorted(folders)}")
        folder = folders.pop()
        remote = [dataclasses.replace(s, suite_path=os.path.relpath(
            Path(s.suite_path).resolve(), folder)) for s in specs]
        backends = sorted({s.backend for s in specs})
        records = {s.record_dir for s in specs if s.record_dir}
        started = time.perf_counter()
        shipped = ray.put(pack_folder(folder, skip=records))
        actor_class = ray.remote(CallWorker)
        if self.address == "local":
            actor_class = actor_class.options(num_cpus=1)
        actors = [actor_class.remote(shipped, backends)
                  for _ in range(min(self.workers, len(specs)))]
        try:
            ready = ray.get([a.ready.remote() for a in actors])
            self.timings["actors_s"] = round(time.perf_counter() - started, 3)
            self.timings["actor_warm_s"] = [r["warm_s"] for r in ready]
            yield from self._dispatch(actors, specs, remote)
        finally:
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
            self.timings["map_s"] = round(time.perf_counter() - started, 3)

    @staticmethod
    def _dispatch(actors: list[Any], specs: list[CallSpec],
                  remote: list[CallSpec]) -> Iterator[dict[str, Any]]:
        """One call in flight per actor; the next goes to the first actor that is free."""
        pending = list(range(len(specs)))[::-1]
        running: dict[Any, tuple[Any, int]] = {}
        for actor in actors:
            if pending:
                i = pending.pop()
                running[actor.run.remote(remote[i])] = (actor, i)
        while running:
            [done], _ = ray.wait(list(running), num_returns=1)
            actor, i = running.pop(done)
            if pending:
                j = pending.pop()
                running[actor.run.remote(remote[j])] = (actor, j)
            entry, files = ray.get(done)
            yield _localise(entry, files, specs[i])


def _localise(entry: dict[str, Any], files: dict[str, bytes], spec: CallSpec) -> dict[str, Any]:
    """Write a call's shipped recording under ``spec.record_dir``, where the local
    executor would have written it, and point the entry at it."""
    if spec.record_dir is None or not entry.get("recording"):
        return entry
    folder = Path(spec.record_dir) / Path(entry["recording"]).name
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {**entry, "recording": str(folder)}
