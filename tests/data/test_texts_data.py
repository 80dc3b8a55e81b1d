from collections import Counter

import pytest

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


CROSSED_SETS = {  # loader name: (file, texts, cells, texts per cell, the classes of each labeling)
    "load_app_reviews": ("app_reviews.csv", 72, 24, 3, [
        ["banking", "fitness", "game", "weather"], ["mixed", "negative", "positive"], ["feature", "none"]]),
    "load_restaurant_messages": ("restaurant_messages.csv", 72, 24, 3, [
        ["booking", "food", "service", "venue"], ["angry", "grateful", "worried"], ["casual", "formal"]]),
    "load_parent_messages": ("parent_messages.csv", 72, 24, 3, [
        ["behaviour", "health", "homework", "trip"], ["annoyed", "anxious", "thankful"], ["asks", "informs"]]),
    "load_tenant_messages": ("tenant_messages.csv", 72, 24, 3, [
        ["moving", "neighbours", "rent", "repair"], ["negative", "neutral", "positive"], ["routine", "urgent"]]),
    "load_park_messages": ("park_messages.csv", 72, 24, 3, [
        ["camping", "parking", "trail", "wildlife"], ["delighted", "frustrated", "nervous"], ["asks", "reports"]]),
    "load_support_messages": ("support_messages.csv", 72, 18, 4, [
        ["bicycle", "coffee machine", "phone"], ["angry", "happy", "worried"], ["routine", "urgent"]]),
    "load_friend_messages": ("friend_messages.csv", 72, 18, 4, [
        ["car", "garden", "pet"], ["excited", "sad", "scared"], ["help", "news"]]),
    "load_colleague_messages": ("colleague_messages.csv", 72, 18, 4, [
        ["lunch", "parking", "printer"], ["annoyed", "grateful", "worried"], ["later", "urgent"]]),
    "load_neighbour_posts": ("neighbour_posts.csv", 72, 24, 3, [
        ["noise", "pets", "roads", "rubbish"], ["angry", "thankful", "worried"], ["notice", "question"]]),
    "load_student_posts": ("student_posts.csv", 72, 24, 3, [
        ["biology", "history", "maths", "music"], ["confused", "excited", "stressed"], ["not_urgent", "urgent"]]),
    "load_travel_reviews": ("travel_reviews.csv", 60, 12, 5, [
        ["hotel", "museum", "restaurant"], ["negative", "positive"], ["business", "family"]]),
}


@pytest.mark.parametrize("loader", sorted(CROSSED_SETS))
def test_labelled_sets_are_fully_crossed_distinct_and_licensed(loader):
    from importlib import resources

    from sklearn_icc import data

    file, n, n_cells, per_cell, classes = CROSSED_SETS[loader]
    texts, *labelings = getattr(data, loader)()
    assert len(texts) == len(set(texts)) == n and all(len(y) == n for y in labelings)
    assert validate_texts(texts) == texts
    cells = Counter(zip(*labelings))
    assert len(cells) == n_cells and set(cells.values()) == {per_cell}
    assert [sorted(set(y)) for y in labelings] == classes
    head = resources.files("sklearn_icc.data").joinpath(file).read_text().splitlines()[:3]
    assert any("CC0-1.0" in line for line in head)
