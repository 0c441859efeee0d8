"""A batch job as ``liif-upscale`` runs it: shard, resume, manifest, local or Ray executor.

:func:`run_job` takes the batch items and settings the CLI planned and yields the same
:class:`~liif_desktop.export.batch.BatchEvent` stream whichever executor runs them, so the
progress and summary printed are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from liif_desktop.export.batch import BatchEvent, BatchItem, BatchSettings, run_batch
from liif_desktop.export.job_options import JobOptions
from liif_desktop.export.manifest import ManifestWriter, manifest_name, plan_resume, recorded
from liif_desktop.export.shard import select_shard
from liif_desktop.model.liif import LIIF


def run_job(
    items: Sequence[BatchItem],
    model: LIIF,
    model_id: str,
    settings: BatchSettings,
    options: JobOptions,
    should_stop: Callable[[], bool] | None = None,
    notify: Callable[[str], None] = lambda text: None,
) -> Iterator[BatchEvent]:
    """Run a batch written to ``settings.output_dir``, recording it in the folder's manifest.

    Parameters
    ----------
    items
        The whole job's items (every shard is given the same list).
    model, model_id
        The loaded model and its id or checkpoint path (recorded per row).
    settings
        Output folder, pattern, export settings (the precision is recorded per row).
    options
        Resume, shard and executor.
    should_stop
        Cancel check.
    notify
        Told what the shard and resume leave to do, and the Ray pool.

    Raises
    ------
    liif_desktop.export.manifest.ResumeMismatch
        Resuming with another model or precision than the folder's outputs were made with.
    liif_desktop.export.ray_executor.RayUnavailable
        ``--executor ray`` without Ray or without a reachable cluster.
    """
    work = list(items)
    if options.shard is not None:
        work = select_shard(work, options.shard)
        notify(f"shard {options.shard}: {len(work)} of {len(items)} items")
    precision = settings.export.precision
    if options.resume:
        before = len(work)
        plan = plan_resume(work, settings.output_dir, model_id, precision)
        work = plan.todo
        notify(f"resume: {plan.done} of {before} already complete, {len(work)} to do")
    shard = (options.shard.index, options.shard.count) if options.shard else None
    with ManifestWriter(settings.output_dir / manifest_name(shard)) as manifest:
        if options.executor == "ray":
            from liif_desktop.export.ray_executor import RayOptions, run_on_ray

            ray_options = RayOptions(
                options.address, options.workers, options.threads, options.device
            )
            yield from run_on_ray(
                work,
                model,
                model_id,
                settings,
                ray_options,
                manifest.write,
                should_stop,
                on_plan=lambda p: notify(
                    f"ray: {p.workers} worker(s) on {p.device}"
                    + (f", {int(p.num_cpus)} thread(s) each" if p.device == "cpu" else "")
                    + f", {precision}"
                ),
            )
        else:
            events = run_batch(work, model, settings, should_stop)
            yield from recorded(events, work, manifest.write, model_id, precision)


__all__ = ["run_job"]
