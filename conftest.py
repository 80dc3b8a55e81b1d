"""Doctest fixtures: examples that train or load a model use a tiny one built offline."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _doctest_tiny_model(doctest_namespace, tmp_path_factory):
    from tests.conftest import build_tiny_model_dir

    doctest_namespace["tiny_model_path"] = build_tiny_model_dir(tmp_path_factory.mktemp("doctest-tiny-llama"))
