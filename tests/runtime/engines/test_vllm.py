"""engine="vllm" on the default model, in process: the in-process decoder's labels, in one generate call."""

import numpy as np
import pytest

from .vllm_support import agreement, inprocess_reference, run_reference

pytestmark = pytest.mark.default_model


def test_vllm_prompts_are_the_in_process_prompts(episodes, reference):
    from sklearn_icc.runtime.engines.vllm import VLLMEngine
    from sklearn_icc.runtime.spec import PromptSpec

    engine = VLLMEngine("default")
    spec = PromptSpec.from_params("paper", None, "compact")
    for X, ids in zip(episodes, reference["prompt_ids"]):
        assert list(engine.request(X, 3, spec).prompt.input_ids) == ids


def test_vllm_greedy_labels_equal_the_in_process_decoder(episodes, reference):
    from sklearn_icc import InContextClustering

    labels = InContextClustering(3, engine="vllm").fit_predict_many(episodes)
    assert all(l.dtype == np.int64 and len(l) == len(X) for l, X in zip(labels, episodes))
    equal, ties, other = agreement(reference, labels)
    assert other == [], f"labels differ beyond near ties: {other}"
    assert equal + len(ties) == len(episodes) >= 20


def test_vllm_fit_gives_labels_and_the_in_process_probabilities(episodes, reference):
    from sklearn_icc import InContextClustering

    icc = InContextClustering(3, engine="vllm").fit(episodes[0])
    assert icc.labels_.tolist() == reference["labels"][0]
    assert icc.device_ == "vllm" and icc.n_prompt_tokens_ == len(reference["prompt_ids"][0])
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    np.testing.assert_allclose(icc.label_probabilities_, reference["probabilities"][0], atol=2e-3)


def test_a_lora_adapter_is_served_per_request_with_the_merged_adapter_labels(episodes, reference, tmp_path_factory):
    from sklearn_icc import InContextClustering

    adapter = tmp_path_factory.mktemp("adapter") / "lora"
    run_reference("--make-adapter", adapter)
    subset = episodes[:8]
    with_adapter = inprocess_reference(subset, tmp_path_factory.mktemp("reference-lora"), adapter=adapter)
    # The adapter changes the answers, so this test can fail.
    assert with_adapter["labels"] != reference["labels"][: len(subset)]
    labels = InContextClustering(3, engine="vllm", adapter=str(adapter)).fit_predict_many(subset)
    equal, ties, other = agreement(with_adapter, labels)
    assert other == [], f"labels differ beyond near ties: {other}"
