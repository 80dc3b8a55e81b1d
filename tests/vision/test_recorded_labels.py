"""Image clustering on the tiny models, recorded before the estimators' redesign.

As ``tests/cluster/test_recorded_labels.py`` does for the default model: each case must
reproduce the recorded labels exactly and probabilities and affinities to float
rounding. ``python -m tests.vision.test_recorded_labels --record`` (with the
``[vision]`` extra) rewrites the record, only for an intended change of behaviour.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.vision import ImageEncoder

RECORD = Path(__file__).with_name("recorded_labels.npz")


def _cases(model, vit, images):
    def encoder(pooling=3, seed=0):
        return ImageEncoder(vit, pooling=pooling, projector="mlp", seed=seed)

    def icc(**params):
        est = InContextClustering(model=model, device="cpu", **params).fit(images)
        return {"labels": est.labels_, "proba": est.label_probabilities_}

    def icc_predict(**params):
        est = InContextClustering(model=model, device="cpu", **params).fit(images[:8])
        return {"labels": est.predict(images[8:]), "proba": est.predict_proba(images[8:]), "fit": est.labels_}

    def asc(**params):
        est = AttentionSpectralClustering(model=model, device="cpu", random_state=0, **params).fit(images)
        return {"labels": est.labels_, "affinity": est.affinity_matrix_}

    return {
        "icc_k2": lambda: icc(n_clusters=2, image_encoder=encoder()),
        "icc_k3_seed1": lambda: icc(n_clusters=3, image_encoder=encoder(seed=1)),
        "icc_orderings3": lambda: icc(n_clusters=2, image_encoder=encoder(), n_orderings=3, random_state=0),
        "icc_condition": lambda: icc(n_clusters=2, image_encoder=encoder(pooling=2), condition="colour"),
        "icc_predict": lambda: icc_predict(n_clusters=2, image_encoder=encoder()),
        "asc_hidden": lambda: asc(n_clusters=2, layer=-1, image_encoder=encoder()),
        "asc_attention": lambda: asc(n_clusters=2, layer=0, affinity="attention", image_encoder=encoder()),
    }


def _flatten(results):
    return {f"{case}/{key}": value for case, result in results.items() for key, value in result.items()}


CASE_NAMES = ["asc_attention", "asc_hidden", "icc_condition", "icc_k2", "icc_k3_seed1", "icc_orderings3",
              "icc_predict"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_reproduces_the_recorded_image_labels(case, tiny_model, tiny_vit, digit_images):
    with np.load(RECORD) as data:
        record = dict(data)
    from conftest import assert_matches_record

    assert_matches_record(_flatten({case: _cases(tiny_model, tiny_vit, digit_images[0])[case]()}), record, case,
                          exact=lambda key: "labels" in key or key.endswith("/fit"))


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.vision.test_recorded_labels --record")
    import json
    import tempfile

    import open_clip
    from sklearn.datasets import load_digits

    from tests.conftest import build_tiny_model_dir
    from tests.vision.conftest import TINY_VIT, TINY_VIT_CONFIG

    folder = Path(tempfile.mkdtemp())
    (folder / f"{TINY_VIT}.json").write_text(json.dumps(TINY_VIT_CONFIG))
    open_clip.add_model_config(folder / f"{TINY_VIT}.json")
    digits = load_digits()
    images = list(digits.images[np.flatnonzero(digits.target < 2)[:12]] / 16.0)
    cases = _cases(build_tiny_model_dir(folder / "tiny-llama"), TINY_VIT, images)
    assert sorted(cases) == CASE_NAMES
    np.savez_compressed(RECORD, **_flatten({name: make() for name, make in cases.items()}))
    print(f"recorded {len(cases)} cases in {RECORD}")
