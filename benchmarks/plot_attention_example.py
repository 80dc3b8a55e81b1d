"""Draw the docs' example figures: one episode's affinities per layer on the default model.

    python benchmarks/plot_attention_example.py   # writes docs/_static/{attention,hidden}_layers.png
"""

import matplotlib

matplotlib.use("Agg")

from sklearn_icc.cluster import layer_affinities  # noqa: E402
from sklearn_icc.datasets import make_mixture  # noqa: E402
from sklearn_icc.plotting import plot_attention  # noqa: E402

X, y = make_mixture(40, 2, 2, df=5.0, random_state=3)
for affinity in ("attention", "hidden"):
    affinities = layer_affinities(X, 2, affinity=affinity, device="cpu")
    fig = plot_attention(affinities, order_by=y, layers=[2, 10, 18, 26], y_true=y)
    fig.suptitle(f"{affinity} affinity, SmolLM2-135M, k=2, d=2, df=5, n=40 (points sorted by class)", fontsize=9)
    fig.tight_layout()
    fig.savefig(f"docs/_static/{affinity}_layers.png", dpi=90)
    print("wrote", f"docs/_static/{affinity}_layers.png")
