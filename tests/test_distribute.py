"""Training through tf.distribute: a real two-worker MultiWorkerMirroredStrategy run on localhost
(two processes, free ports), mirrored on a CPU-only machine, and the one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from lenet_core import distribute
from lenet_core.datasets import load_dataset
from lenet_core.inference import Recognizer
from lenet_core.training import TrainConfig, Trainer, TrainingCallbacks, TrainingError


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("localhost", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]}, "task": {"type": "worker", "index": index}})


def test_two_workers_train_one_model_and_only_the_chief_saves_it(digits_mini, tmp_path):
    ports = free_ports(2)
    outs = [tmp_path / f"worker{index}" / "model.lenet" for index in range(2)]
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": tf_config(ports, index), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        command = [sys.executable, "-m", "lenet_core", "train", "--data", str(digits_mini), "--split", "digitsmini",
                   "--arch", "lenet5", "--epochs", "1", "--batch-size", "32", "--lr", "0.004", "--no-augment", "--validation", "0",
                   "--jit", "off", "--strategy", "multi-worker", "--quiet", "--out", str(outs[index])]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        results = [worker.communicate(timeout=150) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, stderr) in zip(workers, results):
        assert worker.returncode == 0, stderr[-3000:]
    summaries = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in results]
    assert summaries[0]["saved"] == str(outs[0]) and summaries[1]["saved"] is None
    assert "2 workers" in summaries[0]["device"] and "worker 0 (chief)" in summaries[0]["device"]
    assert not outs[1].exists()
    recognizer = Recognizer(outs[0])
    test = load_dataset(digits_mini, "digitsmini", "test")
    probabilities = recognizer.probabilities(test.images.astype(np.float32) / 255.0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == test.labels))
    assert probabilities.shape == (200, 10) and accuracy > 0.2, f"10 classes: chance is 0.1, got {accuracy:.2f}"


class Device(TrainingCallbacks):
    def on_start(self, info):
        self.device = info.device


def test_mirrored_on_a_machine_without_a_gpu_trains_on_one_cpu_replica(digits_mini):
    device = Device()
    config = TrainConfig(data=str(digits_mini), split="digitsmini", architecture="lenet5", epochs=1, batch_size=64,
                         augment=False, strategy="mirrored")
    result = Trainer(config, device).run()
    assert "mirrored: 1 replica" in device.device and "CPU" in device.device.upper()
    assert result.evaluation is not None and result.tuning["strategy"] == "mirrored"


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "needs TF_CONFIG"),
    ({"TF_CONFIG": "{nope"}, "not JSON"),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}})}, "outside"),
])
def test_a_bad_cluster_is_one_clear_line(environ, message):
    with pytest.raises(distribute.DistributeError, match=message):
        distribute.cluster_spec(environ)


def test_the_chief_is_worker_zero_unless_the_cluster_names_one():
    def env(cluster, kind, index):
        return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})}

    workers = {"worker": ["a:1", "b:2"]}
    assert distribute.is_chief("multi-worker", env(workers, "worker", 0))
    assert not distribute.is_chief("multi-worker", env(workers, "worker", 1))
    with_chief = {"chief": ["c:3"], **workers}
    assert distribute.is_chief("multi-worker", env(with_chief, "chief", 0))
    assert not distribute.is_chief("multi-worker", env(with_chief, "worker", 0))
    assert distribute.is_chief("mirrored", {})


def test_an_unknown_strategy_is_refused_by_the_trainer(digits_mini):
    config = TrainConfig(data=str(digits_mini), split="digitsmini", architecture="lenet5", epochs=1, strategy="everywhere")
    with pytest.raises(TrainingError, match="unknown strategy"):
        Trainer(config).run()
