from collections import Counter

from sklearn_icc.data import load_topic_sentiment_texts
from sklearn_icc.cluster._texts import validate_texts


def test_topic_sentiment_texts_are_balanced_and_distinct():
    texts, topic, sentiment = load_topic_sentiment_texts()
    assert len(texts) == len(set(texts)) == len(topic) == len(sentiment) == 128
    assert validate_texts(texts) == texts
    cells = Counter(zip(topic, sentiment))
    assert len(cells) == 8 and set(cells.values()) == {16}
    assert sorted(set(topic)) == ["cooking", "sports", "technology", "travel"]
    assert sorted(set(sentiment)) == ["negative", "positive"]


def test_the_shipped_file_states_its_licence():
    from importlib import resources

    head = resources.files("sklearn_icc.data").joinpath("topic_sentiment_texts.csv").read_text().splitlines()[:3]
    assert any("CC0-1.0" in line for line in head)


def test_support_messages_are_fully_crossed_and_distinct():
    from sklearn_icc.data import load_support_messages

    texts, product, emotion, urgency = load_support_messages()
    assert len(texts) == len(set(texts)) == len(product) == len(emotion) == len(urgency) == 72
    assert validate_texts(texts) == texts
    cells = Counter(zip(product, emotion, urgency))
    assert len(cells) == 18 and set(cells.values()) == {4}
    assert sorted(set(product)) == ["bicycle", "coffee machine", "phone"]
    assert sorted(set(emotion)) == ["angry", "happy", "worried"]
    assert sorted(set(urgency)) == ["routine", "urgent"]
    from importlib import resources

    head = resources.files("sklearn_icc.data").joinpath("support_messages.csv").read_text().splitlines()[:3]
    assert any("CC0-1.0" in line for line in head)


def test_travel_reviews_are_fully_crossed_and_distinct():
    from importlib import resources

    from sklearn_icc.data import load_travel_reviews

    texts, place, sentiment, traveller = load_travel_reviews()
    assert len(texts) == len(set(texts)) == len(place) == len(sentiment) == len(traveller) == 60
    assert validate_texts(texts) == texts
    cells = Counter(zip(place, sentiment, traveller))
    assert len(cells) == 12 and set(cells.values()) == {5}
    assert sorted(set(place)) == ["hotel", "museum", "restaurant"]
    assert sorted(set(sentiment)) == ["negative", "positive"]
    assert sorted(set(traveller)) == ["business", "family"]
    head = resources.files("sklearn_icc.data").joinpath("travel_reviews.csv").read_text().splitlines()[:3]
    assert any("CC0-1.0" in line for line in head)


def test_a_malformed_shipped_table_is_refused():
    import pytest

    from sklearn_icc import data

    with pytest.raises(ValueError, match="travel_reviews.csv is malformed: expected the columns text, place"):
        data._read_table(data.TRAVEL_REVIEWS_FILE, ["text", "place"])
