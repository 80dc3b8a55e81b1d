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


class _Namer:
    def __init__(self, model, namer, adapter_=None):
        self.model, self.namer, self.adapter_ = model, namer, adapter_


def test_the_namer_resolves_auto_reading_and_folders(tmp_path, monkeypatch):
    from sklearn_icc.cluster._by_condition import resolve_namer

    monkeypatch.setattr(adapters, "SHIPPED_NAMER_DIR", tmp_path)
    assert resolve_namer(_Namer("default", "auto")) is None  # none ships: the reading's own answers
    (tmp_path / "adapter_config.json").write_text("{}")
    assert resolve_namer(_Namer("default", "auto")) == str(tmp_path)
    assert resolve_namer(_Namer("/some/other/model", "auto")) is None
    assert resolve_namer(_Namer("default", "reading")) is None
    assert resolve_namer(_Namer("default", tmp_path)) == str(tmp_path.resolve())
    assert resolve_namer(_Namer("default", tmp_path, adapter_=str(tmp_path.resolve()))) is None  # the reader itself
    with pytest.raises(ValueError, match="adapter_config.json"):
        resolve_namer(_Namer("default", tmp_path / "missing"))
    (tmp_path / "affinity").mkdir()
    (tmp_path / "affinity" / adapters.AFFINITY_CONFIG).write_text("{}")
    with pytest.raises(ValueError, match="namer=.*affinity adapter, which gives no answers"):
        resolve_namer(_Namer("default", tmp_path / "affinity"))


def test_a_namer_names_the_same_partition_from_its_answers(tiny_model, random_lora, monkeypatch):
    from sklearn_icc.cluster._conditioned import central_texts, cluster_names

    calls = []
    real = _by_condition.read_texts

    def spy(loaded, texts, condition, **kwargs):
        calls.append((len(texts), kwargs["answer_tokens"]))
        models.append(_by_condition.model_key(loaded))
        return real(loaded, texts, condition, **kwargs)

    models = []
    own = AttentionSpectralClustering(2, model=tiny_model, adapter=None, condition="sentiment", namer="reading",
                                      random_state=0).fit(TEXTS)
    through = AttentionSpectralClustering(2, model=tiny_model, adapter=random_lora, condition="sentiment",
                                          random_state=0).fit(TEXTS)  # every text's answer through the adapter
    monkeypatch.setattr(_by_condition, "read_texts", spy)
    named = AttentionSpectralClustering(2, model=tiny_model, adapter=None, condition="sentiment", namer=random_lora,
                                        random_state=0).fit(TEXTS)
    assert own.namer_ is None and named.namer_ == random_lora
    assert calls[0] == (8, 0)  # the reading asks no answers: the namer does
    np.testing.assert_array_equal(named.labels_, own.labels_)
    np.testing.assert_allclose(named.embedding_, own.embedding_, atol=1e-6)
    asked = central_texts(named.embedding_, named.labels_, 2, _by_condition.NAMED_PER_CLUSTER)
    assert calls[1:] == [(len(asked), 10)]
    assert list(named.answers_[asked]) == list(through.answers_[asked])  # the adapter's answers, not the reading's
    assert named.cluster_names_ == cluster_names(list(named.answers_), named.labels_, 2)
    plain_key = _by_condition.model_key(_by_condition.reader_model_spec(own).load())
    lora_key = _by_condition.model_key(_by_condition.reader_model_spec(through).load())
    assert models == [plain_key, lora_key] and plain_key != lora_key  # read zero-shot, named through the adapter
    named.set_params(namer="reading").fit(TEXTS)  # a refit forgets the namer
    assert named.namer_ is None and named.answers_.tolist() == own.answers_.tolist()
