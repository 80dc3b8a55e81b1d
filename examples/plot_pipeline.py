"""
ICC in a Pipeline, next to KMeans
=================================

:class:`~sklearn_icc.InContextClustering` takes the place of
:class:`~sklearn.cluster.KMeans` after a :class:`~sklearn.preprocessing.StandardScaler`:
the same call (``n_clusters`` first), ``fit_predict`` and ``labels_``. The labels are always one int64 in ``0..k-1``
per point (constrained decoding), whatever the model would have liked to write.
"""

import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_icc import InContextClustering, clustering_accuracy
from sklearn_icc.datasets import make_mixture

X, y = make_mixture(n_samples=30, n_clusters=3, n_features=2, df=5.0,
                    random_state=0)

kmeans = make_pipeline(StandardScaler(),
                       KMeans(3, n_init=10, random_state=0))
icc = make_pipeline(StandardScaler(),
                    InContextClustering(3, point_format="compact",
                                        random_state=0))
results = {"true classes": y}
for name, estimator in (("KMeans", kmeans), ("ICC (zero-shot)", icc)):
    labels = estimator.fit_predict(X)
    results[name] = labels
    acc = clustering_accuracy(y, labels)
    ari = adjusted_rand_score(y, labels)
    print(f"{name:16} ACC {acc:.2f}  ARI {ari:.2f}")

# %%
# The last step keeps what the model said: the probability of each label per point.
print(icc[-1].label_probabilities_[:3].round(2))

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3), sharex=True, sharey=True)
for ax, (name, labels) in zip(axes, results.items()):
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="viridis", s=25)
    ax.set_title(name)
fig.tight_layout()
plt.show()
