"""After `pip install .` and `sklearn-icc fetch-model` in a clean venv: the installed package fits with the default model."""

import time
from pathlib import Path
import sys

import numpy as np

import sklearn_icc
from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture

installed = Path(sklearn_icc.__file__).resolve()
assert Path(sys.prefix).resolve() in installed.parents, f"imported {installed}, not the venv's copy"
X, y = make_mixture(20, 3, 2, random_state=0)
start = time.perf_counter()
labels = InContextClustering(n_clusters=3).fit_predict(X)
assert labels.dtype == np.int64 and labels.shape == (20,) and labels.min() >= 0 and labels.max() <= 2, labels
print(f"sklearn-icc {sklearn_icc.__version__} from {installed.parent}: 20 points labelled {labels.tolist()} "
      f"with the default model in {time.perf_counter() - start:.1f} s")

from sklearn_icc import AttentionSpectralClustering

asc = AttentionSpectralClustering(n_clusters=3, random_state=0).fit(X)  # the shipped affinity adapter
assert asc.adapter_ is not None and Path(asc.adapter_).resolve().parent == installed.parent / "adapters", asc.adapter_
assert asc.labels_.shape == (20,) and asc.labels_.max() <= 2, asc.labels_
print(f"AttentionSpectralClustering used the installed affinity adapter {asc.adapter_}")

texts = ["I love this, it made my day.", "What a wonderful surprise, thank you!", "This is awful, I am so upset.",
         "Terrible service, I want my money back.", "Great work, really happy with it.", "It broke at once, very annoying."]
named = AttentionSpectralClustering(2, condition="sentiment", random_state=0).fit(texts)  # the shipped namer
assert named.namer_ is not None and Path(named.namer_).resolve() == installed.parent / "adapters" / "namer", named.namer_
assert len(named.cluster_names_) == 2 and all(isinstance(n, str) for n in named.cluster_names_), named.cluster_names_
print(f"texts by sentiment named {named.cluster_names_} by the installed naming adapter {named.namer_}")
