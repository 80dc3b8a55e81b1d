"""Doctest fixtures: examples that train or load a model use a tiny one built offline."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _doctest_tiny_model(doctest_namespace, tmp_path_factory):
    from tests.conftest import build_tiny_model_dir

    doctest_namespace["tiny_model_path"] = build_tiny_model_dir(tmp_path_factory.mktemp("doctest-tiny-llama"))


@pytest.fixture(autouse=True, scope="session")
def _doctest_tiny_vit(doctest_namespace, tmp_path_factory):
    """``tiny_vit_name``: the tests' tiny random open_clip ViT, registered when the [vision] extra is installed."""
    import json

    from sklearn_icc.vision import is_vision_available
    from tests.vision.conftest import TINY_VIT, TINY_VIT_CONFIG

    if is_vision_available():
        import open_clip

        path = tmp_path_factory.mktemp("doctest-open-clip") / f"{TINY_VIT}.json"
        path.write_text(json.dumps(TINY_VIT_CONFIG))
        open_clip.add_model_config(path)
    doctest_namespace["tiny_vit_name"] = TINY_VIT
