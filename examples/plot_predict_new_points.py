"""
Labelling new points with ``predict``
=====================================

After ``fit``, :meth:`~sklearn_icc.InContextClustering.predict` writes the fitted
points into the prompt with their labels as anchors, then the new points, and
constrained decoding labels only the new ones: label ids are those of ``labels_``.
``predict_proba`` returns the model's probability of each label. KMeans, for
comparison, assigns each new point to its nearest centre.
"""

import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture

X_all, y_all = make_mixture(n_samples=30, n_clusters=3, n_features=2,
                            df=5.0, random_state=1)
X, y, X_new, y_new = X_all[:20], y_all[:20], X_all[20:], y_all[20:]

icc = InContextClustering(n_clusters=3, point_format="compact",
                          random_state=0).fit(X)
icc_new = icc.predict(X_new)
kmeans = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)
kmeans_new = kmeans.predict(X_new)
for name, new in (("ICC", icc_new), ("KMeans", kmeans_new)):
    ari = adjusted_rand_score(y_new, new)
    print(f"new points, {name:7} {new}  ARI {ari:.2f}")
proba = icc.predict_proba(X_new[:1]).round(2)
print("ICC's probabilities of the first new point:", proba)

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharex=True, sharey=True)
panels = (("ICC", icc.labels_, icc_new), ("KMeans", kmeans.labels_, kmeans_new))
style = dict(cmap="viridis", vmin=0, vmax=2)
for ax, (name, fitted, new) in zip(axes, panels):
    ax.scatter(X[:, 0], X[:, 1], c=fitted, s=25, label="fitted", **style)
    ax.scatter(X_new[:, 0], X_new[:, 1], c=new, s=90, marker="*",
               edgecolors="black", label="new (predict)", **style)
    ax.set_title(name)
axes[0].legend(loc="best", fontsize=8)
fig.tight_layout()
plt.show()
