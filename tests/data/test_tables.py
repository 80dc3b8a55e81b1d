"""Reading the shipped CSV tables."""

import pytest

from sklearn_icc.data._tables import read_table
from sklearn_icc.data.held_out import TRAVEL_REVIEWS_FILE


def test_a_malformed_shipped_table_is_refused():
    with pytest.raises(ValueError, match="travel_reviews.csv is malformed: expected the columns text, place"):
        read_table(TRAVEL_REVIEWS_FILE, ["text", "place"])


def test_a_table_gives_its_texts_then_one_label_array_per_column():
    texts, place, sentiment, traveller = read_table(TRAVEL_REVIEWS_FILE, ["text", "place", "sentiment", "traveller"])
    assert len(texts) == len(place) == len(sentiment) == len(traveller) == 60
    assert all(isinstance(t, str) and t and not t.startswith("#") for t in texts)
