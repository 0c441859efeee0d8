"""``--executor ray``: the work items of a batch exported by a pool of Ray actors.

Ray Data reads the list of work items; a fixed pool of actors (one GPU each where the cluster
has GPUs, else a stated number of CPU threads each) each holds one copy of the model the driver
loaded, at the precision the driver pinned, and runs
:class:`~liif_desktop.export.distributed.ItemWorker` (the single-machine export core). The
driver gathers the answers, writes the manifest and yields the same events as a local batch.

Ray is optional (``pip install liif-desktop[cluster]``) and imported only when this executor
runs. Inputs and outputs must be on storage every node sees at the same path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liif_desktop.export.batch import BatchEvent, BatchItem, BatchSettings
from liif_desktop.export.distributed import ItemWorker, WorkerSpec, gather, item_record
from liif_desktop.export.manifest import ManifestRow
from liif_desktop.model.liif import LIIF

#: Most blocks Ray Data splits the work list into (a block is the unit an actor is handed).
MAX_BLOCKS = 10_000
#: Precisions the driver can pin for every actor.
PINNED_PRECISIONS = ("fp32", "bf16", "fp16")
#: Seconds between a worker's polls of the driver's stop flag.
STOP_POLL_SECONDS = 0.5


class RayUnavailable(RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or lacks what was asked for."""


class RayJobFailed(RuntimeError):
    """The cluster failed the job (actors lost beyond retries); finished items are recorded."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayUnavailable(
            "--executor ray needs Ray: pip install 'liif-desktop[cluster]'"
        ) from exc
    return ray


@dataclass(frozen=True)
class RayOptions:
    """How to run on Ray.

    Attributes
    ----------
    address
        Cluster address (``'ray://head:10001'``, ``'head:6379'``, ``'auto'``); None: the
        cluster in ``RAY_ADDRESS``, else a local Ray instance started for this job.
    workers
        Actors in the pool; None: one per GPU, else CPUs // ``threads``.
    threads
        Torch threads (and Ray CPUs) per actor on CPU.
    device
        ``'auto'`` (GPUs if the cluster has any), ``'cpu'`` or ``'cuda'``.
    """

    address: str | None = None
    workers: int | None = None
    threads: int = 1
    device: str = "auto"


@dataclass(frozen=True)
class PoolPlan:
    """The actor pool a job gets: device, number of actors and resources of each."""

    device: str
    workers: int
    num_cpus: float
    num_gpus: float


def plan_pool(options: RayOptions, resources: dict[str, float]) -> PoolPlan:
    """The pool for ``options`` on a cluster with ``resources`` (``ray.cluster_resources()``).

    Raises
    ------
    RayUnavailable
        ``cuda`` was asked for and the cluster has no GPU, or ``mps`` (not in a Ray pool).
    """
    gpus = int(resources.get("GPU", 0))
    cpus = int(resources.get("CPU", 0))
    wanted = options.device.lower()
    if wanted.startswith("cuda") and gpus < 1:
        raise RayUnavailable("--device cuda: the Ray cluster has no GPUs")
    if wanted not in ("auto", "cpu") and not wanted.startswith("cuda"):
        raise RayUnavailable(f"--device {options.device} is not available on a Ray cluster")
    if wanted != "cpu" and gpus >= 1:
        return PoolPlan("cuda", options.workers or gpus, 1, 1)
    workers = options.workers or max(1, cpus // options.threads)
    return PoolPlan("cpu", workers, options.threads, 0)


def runtime_env() -> dict[str, Any]:
    """Ray's runtime environment for the workers: this package's code, shipped by the driver.

    Workers then run exactly the driver's export code; they still need the same torch, numpy
    and Pillow installed (``pip install liif-desktop[cluster]`` on every node).
    """
    import liif_desktop

    package = str(Path(liif_desktop.__file__).parent)
    return {"py_modules": [package], "excludes": ["__pycache__"]}


def connect(address: str | None) -> bool:
    """Join (or start) a Ray cluster, shipping this package's code; True if started here.

    An already initialised Ray (``ray.init`` called by the caller) is used as it is.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            runtime_env=runtime_env(),
            logging_level=logging.WARNING,
            log_to_driver=False,
            include_dashboard=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address or 'auto'}: {exc}") from exc
    return True


class RayItemWorker(ItemWorker):
    """An :class:`ItemWorker` in a Ray actor, stopping when the driver's flag is set."""

    def __init__(self, model: LIIF, spec: WorkerSpec, stop_flag: Any) -> None:
        self._flag = stop_flag
        self._next_poll = 0.0
        self._stopped = False
        super().__init__(model, spec, self._poll)

    def _poll(self) -> bool:
        if self._stopped:
            return True
        now = time.monotonic()
        if now >= self._next_poll:
            import ray

            self._next_poll = now + STOP_POLL_SECONDS
            self._stopped = bool(ray.get(self._flag.is_set.remote()))
        return self._stopped


class StopFlag:
    """The driver's stop request, held by a small Ray actor that the workers poll."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


def _stop_flag(ray: Any) -> Any:
    actor_class: Any = ray.remote(num_cpus=0)(StopFlag)
    return actor_class.remote()


def run_on_ray(
    items: Sequence[BatchItem],
    model: LIIF,
    model_id: str,
    settings: BatchSettings,
    options: RayOptions,
    write: Callable[[ManifestRow], None],
    should_stop: Callable[[], bool] | None = None,
    on_plan: Callable[[PoolPlan], None] | None = None,
) -> Iterator[BatchEvent]:
    """Export ``items`` on a Ray cluster; yields the events of a local batch.

    Parameters
    ----------
    items
        Work items (paths every node can read).
    model
        The model (loaded by the driver; copied to each actor).
    model_id
        Recorded in the manifest.
    settings
        Batch settings; the precision in them is used by every actor.
    options
        Cluster address, pool size, threads, device.
    write
        Called with each finished item's manifest row (on the driver).
    should_stop
        Polled by the driver; the actors then stop between tiles, leave no partial file, and
        everything that did finish is still recorded.
    on_plan
        Told the actor pool before work starts (to print it).

    Raises
    ------
    RayUnavailable
        No Ray, no cluster, or no GPU where ``cuda`` was asked for.
    """
    precision = settings.export.precision
    if precision not in PINNED_PRECISIONS:  # e.g. "auto": each node could choose differently
        raise RayUnavailable(
            f"--executor ray runs every worker at one precision: give --precision "
            f"{', '.join(PINNED_PRECISIONS)} (not {precision})"
        )
    ray = require_ray()
    started_here = connect(options.address)
    try:
        plan = plan_pool(options, ray.cluster_resources())
        if on_plan is not None:
            on_plan(plan)
        spec = WorkerSpec(
            settings, model_id, plan.device, options.threads if plan.device == "cpu" else None
        )
        if not items:
            yield from gather(items, [], write, should_stop)
            return
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the driver prints our own progress
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        flag = _stop_flag(ray)
        records = [item_record(item, i) for i, item in enumerate(items)]
        dataset = ray.data.from_items(records, override_num_blocks=min(len(records), MAX_BLOCKS))
        answers = dataset.map_batches(
            RayItemWorker,
            fn_constructor_kwargs={"model": model.to("cpu"), "spec": spec, "stop_flag": flag},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(plan.workers, len(records))),
            num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus,
        )
        rows = (dict(row) for row in answers.iter_rows())
        try:
            yield from gather(items, rows, write, should_stop, lambda: ray.get(flag.set.remote()))
        except ray.exceptions.RayError as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            raise RayJobFailed(
                f"the Ray job failed ({exc.__class__.__name__}: {first_line}); "
                "what finished is in the manifest: rerun with --resume"
            ) from exc
    finally:
        if started_here:
            ray.shutdown()


__all__ = [
    "MAX_BLOCKS",
    "PINNED_PRECISIONS",
    "PoolPlan",
    "RayItemWorker",
    "RayJobFailed",
    "RayOptions",
    "RayUnavailable",
    "StopFlag",
    "connect",
    "plan_pool",
    "require_ray",
    "run_on_ray",
    "runtime_env",
]
