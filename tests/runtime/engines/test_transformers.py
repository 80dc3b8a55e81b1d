"""The in-process engine wraps the constrained decoder: the labels of engine="transformers"."""

import numpy as np

from sklearn_icc.cluster._engine_episodes import cluster_episodes_on_engine
from sklearn_icc.cluster._episodes import cluster_episodes
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime.engines.transformers import TransformersEngine
from sklearn_icc.runtime.spec import PromptSpec


def test_planned_requests_on_the_transformers_engine_equal_the_in_process_path(tiny_loaded):
    spec = PromptSpec.from_params("paper", None, "compact")
    X_list = [make_mixture(n, k, 2, random_state=i)[0] for i, (n, k) in enumerate([(9, 3), (14, 2), (6, 4)])]
    ks, seeds = [3, 2, 4], [11, 22, 33]
    expected = cluster_episodes(list(zip(X_list, ks, seeds)), tiny_loaded, spec, n_orderings=2, batch_size=4)
    engine = TransformersEngine(tiny_loaded, batch_size=4)
    runs = cluster_episodes_on_engine([(X, k, np.random.RandomState(s)) for X, k, s in zip(X_list, ks, seeds)],
                                      engine, spec, n_orderings=2)
    for (labels, probabilities), run in zip(expected, runs):
        np.testing.assert_array_equal(run.labels, labels)
        np.testing.assert_allclose(run.probabilities, probabilities, atol=1e-5)
        assert len(run.results) == 2 and all(r.n_prompt_tokens > 0 for r in run.results)
