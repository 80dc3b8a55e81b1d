"""Data shipped with the package: small labelled sets of texts for text clustering.

The development sets (:mod:`.development`) are those the conditioned reading's design was
measured on; the held-out sets (:mod:`.held_out`) were written after it, to test it.
"""

from .development import load_support_messages, load_topic_sentiment_texts
from .held_out import (
    load_travel_reviews,
    load_friend_messages,
    load_colleague_messages,
    load_neighbour_posts,
    load_student_posts,
    load_app_reviews,
    load_restaurant_messages,
    load_parent_messages,
    load_tenant_messages,
    load_park_messages,
)

__all__ = [
    "load_topic_sentiment_texts",
    "load_support_messages",
    "load_travel_reviews",
    "load_friend_messages",
    "load_colleague_messages",
    "load_neighbour_posts",
    "load_student_posts",
    "load_app_reviews",
    "load_restaurant_messages",
    "load_parent_messages",
    "load_tenant_messages",
    "load_park_messages",
]
