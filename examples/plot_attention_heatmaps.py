"""
Attention and hidden-state affinities, layer by layer
=====================================================

:func:`~sklearn_icc.cluster.layer_affinities` runs the prompt once and returns every
layer's point-by-point affinity: the paper's attention between the points' tokens, or
the cosine similarity of their hidden states. Sorted by true class, a layer that
"sees" the clusters shows blocks on the diagonal. Each panel's title gives the accuracy
of spectral clustering on that affinity.
"""

import matplotlib.pyplot as plt

from sklearn_icc.cluster import layer_affinities
from sklearn_icc.datasets import make_mixture
from sklearn_icc.plotting import plot_attention

X, y = make_mixture(n_samples=30, n_clusters=2, n_features=2, df=5.0,
                    random_state=3)
layers = [2, 10, 18, 26]

# %%
# The paper's affinity: attention from each point's tokens to the other points'.
attention = layer_affinities(X, 2, affinity="attention", point_format="compact")
fig = plot_attention(attention, order_by=y, layers=layers, y_true=y)
fig.suptitle("attention affinity (points sorted by class)", fontsize=10)
fig.tight_layout()
plt.show()

# %%
# The default of AttentionSpectralClustering: cosine similarity of hidden states.
hidden = layer_affinities(X, 2, affinity="hidden", point_format="compact")
fig = plot_attention(hidden, order_by=y, layers=layers, y_true=y)
fig.suptitle("hidden-state affinity (points sorted by class)", fontsize=10)
fig.tight_layout()
plt.show()
