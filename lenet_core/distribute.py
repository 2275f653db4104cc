"""Training beyond one device through `tf.distribute`: `mirrored` (every local GPU; one CPU
replica where there is none) and `multi-worker` (a cluster described by `TF_CONFIG`). Owns the
strategy, the data sharding it needs, and which worker is the chief (the only one that saves).
"""

from __future__ import annotations

import json
import os
from typing import Any

STRATEGIES = ("default", "mirrored", "multi-worker")


class DistributeError(ValueError):
    """A strategy that cannot be set up; the message says why in one line."""


def cluster_spec(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The parsed `TF_CONFIG`, checked: a cluster with workers and this process's task in it."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    if not text:
        raise DistributeError("--strategy multi-worker needs TF_CONFIG (the cluster and this worker's task); see the README")
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise DistributeError(f"TF_CONFIG is not JSON ({error})") from None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    task = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or not cluster.get("worker"):
        raise DistributeError('TF_CONFIG has no "cluster" with a "worker" list')
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(task.get("index"), int):
        raise DistributeError('TF_CONFIG\'s "task" must name a type in the cluster and an integer index')
    if not 0 <= task["index"] < len(cluster[task["type"]]):
        raise DistributeError(f"TF_CONFIG's task index {task['index']} is outside the cluster's {task['type']} list")
    return spec


def is_chief(strategy: str = "multi-worker", environ: dict[str, str] | None = None) -> bool:
    """Whether this process saves the model: always, except a multi-worker run's non-chief
    workers (the chief is task "chief", or worker 0 when the cluster has no chief)."""
    if strategy != "multi-worker":
        return True
    spec = cluster_spec(environ)
    task, cluster = spec["task"], spec["cluster"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and task["index"] == 0 and "chief" not in cluster


def make_strategy(name: str):
    """The tf.distribute strategy for `name` (None for "default": Keras's own single device)."""
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
    if name == "default":
        return None
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # With no GPU, MirroredStrategy picks the CPU: one replica, the same maths as "default".
        return tf.distribute.MirroredStrategy([device.name for device in gpus] or None)
    cluster_spec()  # a clear message before TensorFlow's own, much longer one
    _mean_scalars_across_workers()
    return tf.distribute.MultiWorkerMirroredStrategy()


def describe(name: str, strategy) -> str:
    """"mirrored: 1 replica (/cpu:0)"; "multi-worker: 2 workers × 1 replica, this is worker 0 (chief)"."""
    if strategy is None:
        return ""
    devices = ", ".join(getattr(strategy.extended, "worker_devices", ()) or ())
    replicas = strategy.num_replicas_in_sync
    if name == "multi-worker":
        spec = cluster_spec()
        workers = sum(len(members) for kind, members in spec["cluster"].items() if kind in ("chief", "worker"))
        role = "chief" if is_chief() else "not the chief"
        task = spec["task"]
        return (f"multi-worker: {workers} workers, {replicas} replicas in all; this is {task['type']} {task['index']} ({role}), "
                f"devices {devices}")
    return f"mirrored: {replicas} replica{'s' if replicas != 1 else ''} ({devices})"


def shard(dataset):
    """Each worker reads its share of every batch (the data is in memory, not in files)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def build_before_fit(model, strategy, dataset) -> None:
    """Build the model, its loss, metrics and optimizer from one local batch, so that `fit` has
    nothing to build. Keras 3.15 otherwise builds them from the first batch averaged across
    replicas, and CollectiveAllReduce cannot reduce an (images, labels, weights) tuple across
    workers ("Attempt to convert a value (PerReplica…)"): with everything built, that step is
    only skipped."""
    batch = next(iter(dataset))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def _mean_scalars_across_workers() -> None:
    """Keras 3 (3.15 here) averages each step's logs across workers with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalar loss and accuracy
    ("Invalid reduction dimension 0 for input with 0 dimensions"; tensorflow/tensorflow#72388).
    Scalars are averaged over the replicas instead (axis None); everything else as Keras does.
    Installed only for multi-worker runs; installing it twice is harmless."""
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "lenet_studio_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction != "auto" or not trainer._collective_all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def reduce(value):
            if getattr(value, "shape", None) is not None and value.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    reduce_per_replica.lenet_studio_patch = True
    trainer.reduce_per_replica = reduce_per_replica
