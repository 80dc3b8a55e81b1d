import numpy as np
import pytest

from sklearn_icc.datasets import EpisodeGrid, grid_episode, make_mixture


@pytest.mark.parametrize("dist", ["t", "normal", "lognormal"])
def test_shapes_and_every_cluster_present(dist):
    X, y = make_mixture(10, 5, 4, dist=dist, df=1.25, random_state=3)
    assert X.shape == (10, 4) and y.shape == (10,)
    assert y.dtype == np.int64
    assert set(y.tolist()) == set(range(5))
    assert np.all(np.isfinite(X))


def test_seeded_and_reproducible():
    a = make_mixture(30, 3, 3, random_state=7)
    b = make_mixture(30, 3, 3, random_state=7)
    c = make_mixture(30, 3, 3, random_state=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_heavier_tails_give_more_outliers():
    spread = [np.median(np.abs(make_mixture(2000, 1, 1, df=df, random_state=0)[0])) for df in (1, 100)]
    wide = [np.abs(make_mixture(2000, 1, 1, df=df, random_state=0)[0]).max() for df in (1, 100)]
    assert wide[0] > 10 * wide[1]
    assert spread[0] > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="must not exceed"):
        make_mixture(2, 3)
    with pytest.raises(ValueError, match="dist"):
        make_mixture(10, 2, dist="cauchy")
    with pytest.raises(ValueError, match="df"):
        make_mixture(10, 2, df=0)


def test_a_share_of_grid_prompts_leaves_k_out():
    from sklearn_icc.datasets import grid_states_k

    grid = EpisodeGrid(unknown_k_fraction=0.3, n_permutations=2)
    stated = [grid_states_k(grid, i, seed=1) for i in range(2000)]
    assert 0.25 < 1 - np.mean(stated) < 0.35
    assert stated[0::2] == stated[1::2]  # the permutations of one mixture share it
    assert stated == [grid_states_k(grid, i, seed=1) for i in range(2000)]
    assert all(grid_states_k(EpisodeGrid(), i) for i in range(50))
    assert not any(grid_states_k(EpisodeGrid(unknown_k_fraction=1.0), i) for i in range(50))
    # The episodes themselves do not depend on the share.
    X0, y0 = grid_episode(EpisodeGrid(), 7)
    X1, y1 = grid_episode(EpisodeGrid(unknown_k_fraction=0.5), 7)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_unknown_k_fraction_must_be_a_share(fraction):
    with pytest.raises(ValueError, match="unknown_k_fraction must lie in"):
        EpisodeGrid(unknown_k_fraction=fraction)
