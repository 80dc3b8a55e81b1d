import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")
matplotlib.use("Agg")

from sklearn_icc.plotting import accuracy_per_layer, plot_attention  # noqa: E402


@pytest.fixture
def affinities():
    blocks = np.kron(np.eye(2), np.ones((5, 5))) + 0.05
    np.fill_diagonal(blocks, 0)
    flat = np.ones((10, 10)) - np.eye(10)
    return {0: flat, 1: blocks, 2: flat * 0.5}


def test_accuracy_per_layer_finds_the_block_layer(affinities):
    y = np.repeat([0, 1], 5)
    scores = accuracy_per_layer(affinities, y, 2)
    assert scores[1] == 1.0 and list(scores) == [0, 1, 2]


def test_plot_has_one_panel_per_layer_and_an_accuracy_curve(affinities):
    y = np.repeat([1, 0], 5)
    fig = plot_attention(affinities, order_by=y, layers=[0, 1], y_true=y)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["layer 0", "layer 1", "spectral clustering per layer"]
    xs, ys = axes[-1].lines[0].get_data()
    assert list(xs) == [0, 1, 2] and ys[1] == 1.0
    # Points ordered by the labelling: the first drawn row is a point of class 0.
    image = axes[1].images[0].get_array()
    assert image[0, 1] > 0.5 and image[0, 9] < 0.5


def test_unknown_layer(affinities):
    with pytest.raises(ValueError, match=r"layers \[7\] are not among"):
        plot_attention(affinities, layers=[7])
