"""
The same texts, clustered two ways: by topic and by sentiment
==============================================================

The package ships 128 short texts, four topics crossed with two sentiments
(:func:`sklearn_icc.data.load_topic_sentiment_texts`, CC0). Each text can be grouped two
ways, and ``condition=`` says which one we want.

:class:`~sklearn_icc.AttentionSpectralClustering` with a condition reads each text on its
own, under the question the condition makes ("What is the sentiment of this text?
Answer with one word."), takes the model's hidden state where it is about to answer
(or, for a content-like condition such as "topic", its reading of the text's own
tokens), and clusters those vectors spectrally. Each cluster is named by the model's
own most frequent one-word answer for its texts (``cluster_names_``).

Below, 48 texts are clustered with ``condition="topic"`` (k=4) and with
``condition="sentiment"`` (k=2): two partitions of the same texts. Each panel crosses
the clusters (rows, with their names) with the true labels (columns). The printed
table scores both partitions against both labelings: a partition should match the
labeling it was asked for and be at chance (ARI near 0) against the other. TF-IDF +
KMeans, which reads no condition, is printed for comparison. Default model, zero-shot.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.data import load_topic_sentiment_texts

texts, topic, sentiment = load_topic_sentiment_texts()
order = np.random.default_rng(0).permutation(len(texts))[:48]
X = [texts[i] for i in order]
truths = {"topic": topic[order], "sentiment": sentiment[order]}

fits = {}
for condition, k in (("topic", 4), ("sentiment", 2)):
    fits[condition] = AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
    print(f"condition={condition!r}: cluster names {fits[condition].cluster_names_}")

rows = {f"condition={c!r}": asc.labels_ for c, asc in fits.items()}
tfidf = TfidfVectorizer(stop_words="english").fit_transform(X)
for k in (4, 2):
    rows[f"TF-IDF + KMeans({k})"] = KMeans(k, n_init=10, random_state=0).fit_predict(tfidf)
table = pd.DataFrame({f"ARI vs {name}": [adjusted_rand_score(y, labels) for labels in rows.values()]
                      for name, y in truths.items()}, index=list(rows)).round(2)
print(table)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [4, 2.4]})
for ax, (condition, asc) in zip(axes, fits.items()):
    counts = pd.crosstab(asc.labels_, truths[condition])
    ax.imshow(counts.to_numpy(), cmap="Blues")
    for (i, j), n in np.ndenumerate(counts.to_numpy()):
        ax.text(j, i, n, ha="center", va="center", fontsize=9)
    ax.set_xticks(range(counts.shape[1]), counts.columns, rotation=30)
    ax.set_yticks(range(counts.shape[0]), [f"{c}: {asc.cluster_names_[c] or '?'}" for c in counts.index])
    ari = adjusted_rand_score(truths[condition], asc.labels_)
    ax.set_title(f"condition={condition!r} (ARI {ari:.2f})")
    ax.set_xlabel(f"true {condition}")
axes[0].set_ylabel("cluster: its name")
fig.suptitle("48 shipped texts, two conditions, default model, zero-shot")
fig.tight_layout()
plt.show()
