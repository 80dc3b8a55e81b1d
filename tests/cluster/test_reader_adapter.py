"""The conditioned reading's LoRA adapter: ``adapter="auto"`` resolution and a folder read (tiny model)."""

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.cluster import _by_condition
from sklearn_icc.cluster._by_condition import resolve_reader_adapter
from sklearn_icc.cluster._text_embedding import ConditionedTextEmbedding
from sklearn_icc.runtime.model import adapters

TEXTS = ["a cat sat on the mat", "my dog barks", "kittens purr", "stocks fell", "bond prices rose",
         "the market rallied", "a puppy plays", "shares slumped"]


@pytest.fixture(scope="module")
def random_lora(tiny_model, tmp_path_factory):
    """A LoRA adapter folder for the tiny model with random (not zero) weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    path = tmp_path_factory.mktemp("reader-lora")
    get_peft_model(model, config).save_pretrained(path)
    return str(path)


class _Settings:
    def __init__(self, model, adapter):
        self.model, self.adapter = model, adapter


def test_auto_is_the_shipped_reader_for_the_default_model_only(tmp_path, monkeypatch):
    monkeypatch.setattr(adapters, "SHIPPED_READER_DIR", tmp_path)
    assert resolve_reader_adapter(_Settings("default", "auto")) is None  # no adapter_config.json: none ships
    (tmp_path / "adapter_config.json").write_text("{}")
    assert resolve_reader_adapter(_Settings("default", "auto")) == str(tmp_path)
    assert resolve_reader_adapter(_Settings("/some/other/model", "auto")) is None
    assert resolve_reader_adapter(_Settings("default", None)) is None
    assert resolve_reader_adapter(_Settings("default", tmp_path)) == str(tmp_path.resolve())


def test_an_affinity_adapter_is_refused_for_texts(tmp_path):
    (tmp_path / adapters.AFFINITY_CONFIG).write_text("{}")
    with pytest.raises(ValueError, match="affinity adapter, which clusters numeric points only"):
        resolve_reader_adapter(_Settings("default", str(tmp_path)))


def test_a_lora_folder_changes_the_reading_and_is_kept_in_predict(tiny_model, random_lora):
    plain = AttentionSpectralClustering(2, model=tiny_model, adapter=None, condition="sentiment",
                                        random_state=0).fit(TEXTS)
    read = AttentionSpectralClustering(2, model=tiny_model, adapter=random_lora, condition="sentiment",
                                       random_state=0).fit(TEXTS)
    assert plain.adapter_ is None and read.adapter_ == random_lora
    assert read.labels_.dtype == np.int64 and set(read.labels_) <= {0, 1}
    # predict reads new texts with the same merged adapter: the fitted texts read again give the fit's vectors
    assert np.allclose(_by_condition.new_features(read, TEXTS), read.embedding_, atol=1e-3)
    assert np.allclose(_by_condition.new_features(plain, TEXTS), plain.embedding_, atol=1e-3)
    plain.adapter_ = random_lora  # the same design and centring, read through the adapter: other vectors
    assert not np.allclose(_by_condition.new_features(plain, TEXTS), plain.embedding_, atol=1e-3)
    assert read.predict(TEXTS[:3]).dtype == np.int64


def test_the_transformer_resolves_and_keeps_its_adapter(tiny_model, random_lora):
    plain = ConditionedTextEmbedding("topic", model=tiny_model, adapter=None).fit(TEXTS)
    read = ConditionedTextEmbedding("topic", model=tiny_model, adapter=random_lora).fit(TEXTS)
    assert plain.adapter_ is None and read.adapter_ == random_lora
    assert not np.allclose(read.transform(TEXTS), plain.transform(TEXTS))
    auto = ConditionedTextEmbedding("topic", model=tiny_model).fit(TEXTS)  # "auto" on another model: zero-shot
    assert auto.adapter_ is None and np.allclose(auto.transform(TEXTS), plain.transform(TEXTS))


def test_reader_model_spec_swaps_in_the_resolved_adapter(tiny_model, random_lora):
    est = AttentionSpectralClustering(2, model=tiny_model, adapter="auto", condition="topic")
    est.adapter_ = random_lora
    assert _by_condition.reader_model_spec(est).adapter == random_lora
