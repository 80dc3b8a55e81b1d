"""The two development sets: the labelled texts the conditioned reading's design was measured on."""

from __future__ import annotations

from ._tables import read_table


TOPIC_SENTIMENT_FILE = "topic_sentiment_texts.csv"


def load_topic_sentiment_texts():
    """Load 128 short texts labelled by topic and by sentiment.

    Four topics (``"cooking"``, ``"sports"``, ``"technology"``, ``"travel"``) crossed
    with two sentiments (``"negative"``, ``"positive"``), 16 texts in each of the 8
    cells: one sentence each, such as a review or a remark, written for sklearn-icc.
    Each text can be grouped two ways, which is what ``condition="topic"`` and
    ``condition="sentiment"`` should tell apart.

    The texts are released under CC0-1.0 (public domain dedication,
    https://creativecommons.org/publicdomain/zero/1.0/), as the file's header says.

    Returns
    -------
    texts : list of str
        The 128 texts, grouped by topic then sentiment (shuffle them before use).
    topic : ndarray of str, shape (128,)
    sentiment : ndarray of str, shape (128,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_topic_sentiment_texts
    >>> texts, topic, sentiment = load_topic_sentiment_texts()
    >>> len(texts), np.unique(topic).tolist(), np.unique(sentiment).tolist()
    (128, ['cooking', 'sports', 'technology', 'travel'], ['negative', 'positive'])
    >>> texts[0], str(topic[0]), str(sentiment[0])
    ('What a match! Our team scored twice in the last ten minutes and won the cup.', 'sports', 'positive')
    """
    return read_table(TOPIC_SENTIMENT_FILE, ["text", "topic", "sentiment"])


SUPPORT_MESSAGES_FILE = "support_messages.csv"
SUPPORT_COLUMNS = ["text", "product", "emotion", "urgency"]


def load_support_messages():
    """Load 72 customer messages labelled by product, by emotion and by urgency.

    Three products (``"bicycle"``, ``"coffee machine"``, ``"phone"``) crossed with three
    emotions (``"angry"``, ``"happy"``, ``"worried"``) and two urgencies
    (``"routine"``, ``"urgent"``), 4 messages in each of the 18 cells: one or two
    sentences each, written for sklearn-icc. Each message can be grouped three ways,
    none of them topic or sentiment as :func:`load_topic_sentiment_texts` labels them,
    so a condition such as ``"emotion"`` or ``"urgency"`` can be checked apart from the
    first data set. Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by product, emotion, then urgency (shuffle them before use).
    product : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    urgency : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_support_messages
    >>> texts, product, emotion, urgency = load_support_messages()
    >>> len(texts), np.unique(product).tolist(), np.unique(emotion).tolist(), np.unique(urgency).tolist()
    (72, ['bicycle', 'coffee machine', 'phone'], ['angry', 'happy', 'worried'], ['routine', 'urgent'])
    """
    return read_table(SUPPORT_MESSAGES_FILE, SUPPORT_COLUMNS)
