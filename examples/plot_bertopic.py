"""
BERTopic with an LLM as its clusterer
=====================================

`BERTopic <https://maartengr.github.io/BERTopic/>`_ takes any clusterer with ``fit``,
``labels_`` and ``predict`` as its ``hdbscan_model``. Here the document embeddings are
precomputed (TF-IDF then SVD, so nothing is downloaded; a sentence encoder's vectors go
in the same way), PCA stands in for UMAP, and
:class:`~sklearn_icc.InContextClustering` or
:class:`~sklearn_icc.AttentionSpectralClustering` groups the reduced embeddings into
topics. ``transform`` labels new documents through the estimator's ``predict``. Needs
``pip install bertopic`` (or sklearn-icc's ``[bertopic]`` extra).
"""

import matplotlib.pyplot as plt
import numpy as np
from bertopic import BERTopic
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import AttentionSpectralClustering, InContextClustering

vocabularies = {
    "pets": "cat dog puppy kitten leash vet fur",
    "markets": "stock bond market price trader shares dividend",
    "football": "goal striker keeper match league referee pitch",
}
rng = np.random.default_rng(0)
docs, truth = [], []
for topic, words in enumerate(vocabularies.values()):
    for _ in range(10):
        docs.append(" ".join(rng.choice(words.split(), size=6)))
        truth.append(topic)
order = rng.permutation(len(docs))
docs, truth = [docs[i] for i in order], np.asarray(truth)[order]
new_docs = ["vet puppy fur leash", "shares dividend trader",
            "referee goal league match"]

# Precomputed embeddings: any (n_documents, n_dims) array.
tfidf = TfidfVectorizer().fit(docs + new_docs)
svd = TruncatedSVD(n_components=8, random_state=0).fit(tfidf.transform(docs))
embeddings = svd.transform(tfidf.transform(docs))
new_embeddings = svd.transform(tfidf.transform(new_docs))

clusterers = {
    "InContextClustering": InContextClustering(
        3, point_format="compact", random_state=0),
    "AttentionSpectralClustering": AttentionSpectralClustering(
        3, point_format="compact", random_state=0),
}
topics = {}
for name, clusterer in clusterers.items():
    topic_model = BERTopic(umap_model=PCA(n_components=2, random_state=0),
                           hdbscan_model=clusterer)
    topics[name], _ = topic_model.fit_transform(docs, embeddings=embeddings)
    ari = adjusted_rand_score(truth, topics[name])
    print(f"{name}: topics against the vocabularies, ARI {ari:.2f}")
    info = topic_model.get_topic_info()
    print(info[["Topic", "Count", "Representation"]].to_string(index=False))
    new_topics, _ = topic_model.transform(new_docs, embeddings=new_embeddings)
    for doc, topic in zip(new_docs, new_topics):
        print(f"  {doc!r:30} -> topic {topic}")

# %%
reduced = topic_model.umap_model.transform(embeddings)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True, sharey=True)
for ax, (name, labels) in zip(axes, topics.items()):
    scatter = ax.scatter(reduced[:, 0], reduced[:, 1], c=labels,
                         cmap="viridis", s=30)
    ax.legend(*scatter.legend_elements(), title="topic", fontsize=8)
    ax.set_title(name, fontsize=10)
fig.suptitle("documents (PCA of their embeddings) by topic", fontsize=10)
fig.tight_layout()
plt.show()
