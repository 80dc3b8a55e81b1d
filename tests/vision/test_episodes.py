"""ImageEpisodes: episodes from label columns and from an ImageFolder directory (no open_clip needed)."""

import numpy as np
import pytest

from sklearn_icc.vision import ImageEpisodes

IMAGES = np.zeros((12, 4, 4))
COLOUR = np.array(["red", "blue", "green"] * 4)
SHAPE = np.array(["round", "square"] * 6)


def test_episodes_follow_the_chosen_label_column():
    episodes = ImageEpisodes(IMAGES, {"colour": COLOUR, "shape": SHAPE}, n_clusters=(2, 3), n_samples=(4, 8))
    seen = set()
    for index in range(30):
        indices, y, condition = episodes.episode(index, seed=3)
        seen.add(condition)
        column = {"colour": COLOUR, "shape": SHAPE}[condition]
        k = int(y.max()) + 1
        assert 2 <= k <= 3 and sorted(set(y)) == list(range(k))
        assert 4 <= len(indices) <= 8 and len(set(indices)) == len(indices)
        # Same true cluster <=> same class in that column.
        same_cluster = y[:, None] == y[None, :]
        same_class = column[indices][:, None] == column[indices][None, :]
        np.testing.assert_array_equal(same_cluster, same_class)
        again = episodes.episode(index, seed=3)
        np.testing.assert_array_equal(again[0], indices)
    assert seen == {"colour", "shape"}
    only_shape = ImageEpisodes(IMAGES, {"colour": COLOUR, "shape": SHAPE}, conditions=("shape",))
    assert {only_shape.episode(i)[2] for i in range(10)} == {"shape"}
    assert only_shape.episode(0, condition="colour")[2] == "colour"


def test_plain_labels_give_unconditioned_episodes():
    episodes = ImageEpisodes(IMAGES, SHAPE, n_clusters=(5,), n_samples=(10, 30))
    indices, y, condition = episodes.episode(0)
    assert condition is None and episodes.conditions == (None,)
    assert int(y.max()) + 1 == 2  # k capped by the two classes
    assert len(indices) == 12  # n capped by the images available
    digits = ImageEpisodes(IMAGES, [10, 2, 2, 10] * 3)
    assert list(digits.classes[None]) == [2, 10]  # numbers stay numbers, in numeric order


def test_label_column_errors():
    with pytest.raises(ValueError, match="one label per image.*lengths"):
        ImageEpisodes(IMAGES, {"colour": COLOUR, "shape": SHAPE[:5]})
    with pytest.raises(ValueError, match="has 1 class"):
        ImageEpisodes(IMAGES, {"colour": ["red"] * 12})
    with pytest.raises(ValueError, match="Unknown conditions \\['size'\\]"):
        ImageEpisodes(IMAGES, {"colour": COLOUR}, conditions=("size",))
    episodes = ImageEpisodes(IMAGES, {"colour": COLOUR})
    with pytest.raises(ValueError, match="Unknown condition 'size'"):
        episodes.episode(0, condition="size")
    with pytest.raises(ValueError, match="n_clusters"):
        ImageEpisodes(IMAGES, COLOUR, n_clusters=(1,))
    with pytest.raises(ValueError, match="n_samples"):
        ImageEpisodes(IMAGES, COLOUR, n_samples=(8, 4))
    with pytest.raises(ValueError, match="empty dict"):
        ImageEpisodes(IMAGES, {})


def _write_png(path, value):
    from PIL import Image

    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)


def test_image_folder_layout(tmp_path):
    pytest.importorskip("PIL", reason="writing PNG files needs Pillow")
    for name, value in (("cats", 10), ("dogs", 200)):
        (tmp_path / name).mkdir()
        for i in range(3):
            _write_png(tmp_path / name / f"{i}.png", value)
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    episodes = ImageEpisodes.from_folder(tmp_path, n_clusters=(2,), n_samples=(4, 6))
    assert len(episodes) == 6 and list(episodes.classes[None]) == ["cats", "dogs"]
    indices, y, _ = episodes.episode(0)
    folders = [episodes.images[i].split("/")[-2] for i in indices]
    assert [f == folders[0] for f in folders] == list(y == y[0])


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        ImageEpisodes.from_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        ImageEpisodes.from_folder(tmp_path)
    pytest.importorskip("PIL", reason="writing PNG files needs Pillow")
    _write_png(tmp_path / "empty" / "a.png", 0)
    with pytest.raises(ValueError, match="has 1 class"):
        ImageEpisodes.from_folder(tmp_path)
