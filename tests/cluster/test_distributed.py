"""fit_predict_many on real distributed engines: joblib's Dask backend on a LocalCluster of processes, and Ray.

Each worker is a separate Python process that imports sklearn-icc and loads the model
itself; the labels must be those of the serial run, because the seeds are drawn before
the episodes are split over the workers.
"""

import joblib
import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture


@pytest.fixture(scope="module")
def episodes():
    return [make_mixture(n, 2, 2, random_state=seed)[0] for seed, n in enumerate((8, 11, 9, 12))]


def _estimator(tiny_model):
    # temperature > 0: the labels depend on each episode's seed, so a seed mix-up would show.
    return InContextClustering(n_clusters=2, model=tiny_model, point_format="compact", temperature=1.0,
                               random_state=0)


@pytest.mark.timeout(600)
def test_dask_local_cluster_of_processes_gives_the_serial_labels(tiny_model, episodes):
    from dask.distributed import Client, LocalCluster, get_task_stream

    serial = _estimator(tiny_model).fit_predict_many(episodes)
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
            distributed = _estimator(tiny_model).fit_predict_many(episodes, n_jobs=2)
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(worker_pids) == 2 and __import__("os").getpid() not in worker_pids
    assert len({task["worker"] for task in stream.data}) >= 1 and len(stream.data) >= 2  # the parts ran on the cluster
    assert len(distributed) == len(serial)
    for got, want in zip(distributed, serial):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


@pytest.mark.timeout(600)
def test_ray_backend_gives_the_serial_labels(tiny_model, episodes):
    ray = pytest.importorskip("ray", reason="Ray is optional (not in the dev extra); pip install ray to run this")
    from ray.util.joblib import register_ray

    serial = _estimator(tiny_model).fit_predict_many(episodes)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray"):
            distributed = _estimator(tiny_model).fit_predict_many(episodes, n_jobs=2)
    finally:
        ray.shutdown()
    for got, want in zip(distributed, serial):
        np.testing.assert_array_equal(got, want)
