"""Fixtures shared by the two vLLM test modules: the seeded episodes and their in-process
reference, computed once per session (it runs the main venv's decoder in a subprocess)."""

import pytest

from .vllm_support import inprocess_reference, require_vllm, table1_episodes


@pytest.fixture(scope="session")
def episodes():
    require_vllm()
    return table1_episodes()


@pytest.fixture(scope="session")
def reference(episodes, tmp_path_factory):
    return inprocess_reference(episodes, tmp_path_factory.mktemp("reference"))
