"""
GridSearchCV over the layer of attention spectral clustering
============================================================

:class:`~sklearn_icc.AttentionSpectralClustering` turns one layer's hidden-state
similarity into a spectral-clustering affinity. Which layer? Its ``score`` is the
eigengap of the affinity at ``n_clusters`` (large when the layer splits the points into
``n_clusters`` clear blocks), which needs no labels, so
:class:`~sklearn.model_selection.GridSearchCV` runs without ``scoring=``. Episodes are
stacked into one array, and :func:`~sklearn_icc.model_selection.episode_splits` makes
each split one episode, fitted and scored on its own points.

With labelled episodes, :func:`~sklearn_icc.metrics.make_fitted_labels_scorer` scores
the labels the clusterer gave instead (ARI here), which shows whether the label-free
choice was a good one.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import make_fitted_labels_scorer
from sklearn_icc.model_selection import episode_splits

episodes = [
    make_mixture(n_samples=30, n_clusters=3, n_features=2, df=5.0,
                 random_state=seed)
    for seed in range(3)
]
X = np.vstack([X_e for X_e, _ in episodes])
y = np.concatenate([y_e for _, y_e in episodes])
cv = episode_splits([len(y_e) for _, y_e in episodes])

asc = AttentionSpectralClustering(3, point_format="compact", random_state=0)
layers = [1, 3, 6, 9, 15, 22, 29]
label_free = GridSearchCV(asc, {"layer": layers}, cv=cv, refit=False).fit(X)
with_labels = GridSearchCV(asc, {"layer": layers}, cv=cv, refit=False,
                           scoring=make_fitted_labels_scorer()).fit(X, y)
for name, search in (("eigengap", label_free), ("ARI", with_labels)):
    best = search.best_params_["layer"]
    print(f"best layer by {name}: {best} (mean {search.best_score_:.2f})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharex=True)
for ax, (name, search) in zip(axes, (("eigengap (score)", label_free),
                                     ("ARI against the classes", with_labels))):
    mean = search.cv_results_["mean_test_score"]
    std = search.cv_results_["std_test_score"]
    ax.errorbar(layers, mean, yerr=std, marker="o", capsize=3)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("layer")
    ax.set_title(f"{name}, 3 episodes", fontsize=10)
fig.suptitle("SmolLM2-135M hidden states, zero-shot", fontsize=10)
fig.tight_layout()
plt.show()
