"""
GridSearchCV over the layer of attention spectral clustering
============================================================

:class:`~sklearn_icc.AttentionSpectralClustering` turns one layer's hidden-state
similarity into a spectral-clustering affinity. Which layer? Search it with
:class:`~sklearn.model_selection.GridSearchCV` on labelled episodes stacked into one
array: :func:`~sklearn_icc.model_selection.episode_splits` makes each split one episode,
fitted and scored on its own points, and
:func:`~sklearn_icc.metrics.make_fitted_labels_scorer` scores the labels the clusterer
gave them (ARI here).
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

layers = [1, 3, 6, 9, 12, 15, 18, 21, 24, 29]
search = GridSearchCV(
    AttentionSpectralClustering(n_clusters=3, point_format="compact",
                                random_state=0),
    {"layer": layers},
    scoring=make_fitted_labels_scorer(),
    cv=episode_splits([len(y_e) for _, y_e in episodes]),
    refit=False,
).fit(X, y)
best = search.best_params_["layer"]
print(f"best layer: {best} (mean ARI {search.best_score_:.2f})")

# %%
mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]
fig, ax = plt.subplots(figsize=(6, 3))
ax.errorbar(layers, mean, yerr=std, marker="o", capsize=3)
ax.axhline(0, color="grey", lw=0.8)
ax.set_xlabel("layer")
ax.set_ylabel("ARI over 3 episodes")
ax.set_title("SmolLM2-135M hidden states, zero-shot")
fig.tight_layout()
plt.show()
