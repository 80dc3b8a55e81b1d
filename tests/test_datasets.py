import numpy as np
import pytest

from sklearn_icc.datasets import make_mixture


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
