"""``finetune_texts()``: train a LoRA adapter on clustering episodes of the user's labelled texts.

Episodes come from a table of texts with one label column per condition
(:class:`TextEpisodes`); each becomes the very prompt inference builds
(:func:`~sklearn_icc.runtime.prompts.texts.build_text_prompt`) plus the answer that
constrained decoding writes, and trains with :func:`~.training.finetune`'s Trainer, so
that a model learns the user's own notion of "by topic".
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np

from ..cluster._texts import validate_texts
from ..labelled_episodes import LabelledEpisodes
from ..runtime.model.adapters import ADAPTER_CARD
from ..runtime.prompts.texts import DEFAULT_MAX_TEXT_TOKENS, build_text_prompt, cut_texts, resolve_text_template
from .cards import run_card
from .config import LoraSettings, TrainingSettings
from .examples import end_of_turn_id, example_from_prompt
from .heldout import HELD_OUT_SEED_OFFSET, score_held_out
from .training import CHECKPOINTS, _build_trainer, _prepare_output, load_for_training, train_and_save


class TextEpisodes(LabelledEpisodes):
    """Labelled texts, and the clustering episodes drawn from them for training.

    Episode ``i`` (for a given seed) picks a condition (one label column), ``k`` of that
    column's classes (``k`` from ``n_clusters``), and 10 to 30 texts of those classes,
    each class at least once; its true clusters are the texts' classes. With a named
    condition the prompt says "based on <condition>", so one set of texts can teach
    several ways of grouping them ("topic", "sentiment").

    Parameters
    ----------
    texts : list, array or pandas Series of str
        One text per row, checked as an estimator checks texts.
    label_columns : array-like or dict
        One label per text; or a dict ``{condition: labels}``, one column per condition
        (a key of ``None`` is an episode without a condition).
    n_clusters : tuple of int, default=(2, 3, 4, 5)
        The ``k`` an episode may have (capped by the column's number of classes).
    n_samples : (int, int), default=(10, 30)
        Inclusive range of texts per episode (capped by the texts available).
    conditions : tuple, default=None
        The columns episodes are drawn from; ``None`` means all of them.

    See Also
    --------
    finetune_texts : Train an adapter on these episodes.

    Examples
    --------
    >>> from sklearn_icc.data import load_topic_sentiment_texts
    >>> from sklearn_icc.finetune import TextEpisodes
    >>> texts, topic, sentiment = load_topic_sentiment_texts()
    >>> episodes = TextEpisodes(texts, {"topic": topic, "sentiment": sentiment}, n_clusters=(2, 4))
    >>> indices, y, condition = episodes.episode(0)
    >>> condition, len(indices), sorted(set(y.tolist()))
    ('sentiment', 16, [0, 1])
    >>> bool(((sentiment[indices] == sentiment[indices[0]]) == (y == y[0])).all())  # y is the sentiment
    True
    """

    def __init__(self, texts, label_columns, *, n_clusters=(2, 3, 4, 5), n_samples=(10, 30), conditions=None):
        super().__init__(validate_texts(texts), label_columns, n_clusters=n_clusters, n_samples=n_samples,
                         conditions=conditions, item_name="text")

    @property
    def texts(self):
        return self.items

    @classmethod
    def from_table(cls, table, text_column="text", label_columns=None, **kwargs):
        """Episodes from a table: a pandas DataFrame or a dict of columns.

        ``text_column`` holds the texts; each of ``label_columns`` (by default every
        other column) is a condition, named by its column.
        """
        names = list(table.columns) if hasattr(table, "columns") else list(table)
        if text_column not in names:
            raise ValueError(f"The table has no text column {text_column!r}; its columns are {names}.")
        label_columns = [n for n in names if n != text_column] if label_columns is None else list(label_columns)
        missing = [n for n in label_columns if n not in names or n == text_column]
        if missing or not label_columns:
            raise ValueError(
                f"label_columns {missing or label_columns} must be columns of the table other than the text "
                f"column {text_column!r}; its columns are {names}."
            )
        return cls(table[text_column], {str(n): table[n] for n in label_columns}, **kwargs)


class TextEpisodeDataset:
    """Map-style dataset of training examples from :class:`TextEpisodes`, built on demand.

    Texts are cut to ``max_text_tokens`` once; item ``i`` is always the same example.
    """

    def __init__(self, loaded, episodes, n_episodes, settings, *, max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, seed=0):
        self.loaded, self.episodes, self.settings, self.seed = loaded, episodes, settings, seed
        self.n_episodes = int(n_episodes)
        self.template = resolve_text_template(settings.prompt)
        self.eot_id = end_of_turn_id(loaded.tokenizer)
        self.texts, self.n_cut = cut_texts(episodes.texts, loaded.tokenizer, max_text_tokens)
        ids = loaded.tokenizer(self.texts, add_special_tokens=False)["input_ids"]
        self.n_text_tokens = np.array([len(row) for row in ids], dtype=np.int64)

    def __len__(self):
        return self.n_episodes

    def length_keys(self):
        """Each example's text tokens plus one per separator, to batch by length."""
        keys = []
        for index in range(self.n_episodes):
            indices, _, _ = self.episodes.episode(index, seed=self.seed)
            keys.append(int(self.n_text_tokens[indices].sum()) + 2 * len(indices))
        return keys

    def example(self, index):
        indices, y, condition = self.episodes.episode(index, seed=self.seed)
        k = int(y.max()) + 1
        prompt, _ = build_text_prompt([self.texts[i] for i in indices], k, self.loaded.tokenizer,
                                      template=self.template, condition=condition, max_text_tokens=None)
        return example_from_prompt(self.loaded, prompt, y, k, label_order=self.settings.label_order,
                                   eot_id=self.eot_id)

    def __getitem__(self, index):
        example = self.example(index)
        return {"input_ids": example.input_ids.tolist(), "labels": example.labels.tolist()}


def text_heldout_scores(loaded, episodes, settings, n_episodes, *, max_text_tokens=DEFAULT_MAX_TEXT_TOKENS):
    """:func:`~sklearn_icc.finetune.heldout.score_held_out` on ``n_episodes`` episodes of
    ``episodes``, drawn from the held-out seed stream."""
    template = resolve_text_template(settings.prompt)

    def episode_prompt(index):
        indices, y, condition = episodes.episode(index, seed=settings.seed + HELD_OUT_SEED_OFFSET)
        prompt, _ = build_text_prompt([episodes.texts[i] for i in indices], int(y.max()) + 1, loaded.tokenizer,
                                      template=template, condition=condition, max_text_tokens=max_text_tokens)
        return prompt, y

    return score_held_out(loaded, episode_prompt, n_episodes)


def finetune_texts(model="default", out="icc-text-adapter", *, texts, heldout=None, lora=None, training=None,
                   max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, overwrite=False, resume=False, estimator="icc",
                   progress=True):
    """Train a LoRA adapter on episodes of labelled texts; return an estimator using it.

    Parameters
    ----------
    model : str or path, default="default"
        The base LLM.
    out : str or path, default="icc-text-adapter"
        Directory for the adapter (peft files), its card and the resumable checkpoints
        (``out/checkpoints``).
    texts : TextEpisodes
        The labelled training texts.
    heldout : TextEpisodes, default=None
        Other texts for the held-out accuracy and ARI every ``training.eval_every``
        steps (and before the first step); ``None`` skips them.
    lora : LoraSettings, default=None
    training : TrainingSettings, default=None
        As for :func:`~sklearn_icc.finetune.finetune`; ``prompt`` names the text
        template (``"paper"`` or ``"short"``, worded for texts), ``point_format`` is
        unused.
    max_text_tokens : int or None, default=128
        Each text is cut to this many tokens, as the estimators cut them.
    overwrite : bool, default=False
    resume : bool, default=False
        Continue from the last complete checkpoint in ``out/checkpoints``.
    estimator : {"icc", "attention"}, default="icc"
    progress : bool, default=True

    Returns
    -------
    estimator : InContextClustering or AttentionSpectralClustering
        Unfitted, with ``adapter=out``, the training prompt and ``max_text_tokens``, and
        ``condition`` set to the trained condition when the episodes had exactly one
        (set it yourself when they had several).

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_icc.finetune import LoraSettings, TextEpisodes, TrainingSettings, finetune_texts
    >>> texts = ["a red ball", "a red car", "a blue sky", "a blue sea"] * 2
    >>> episodes = TextEpisodes(texts, {"colour": ["red", "red", "blue", "blue"] * 2}, n_clusters=(2,),
    ...                         n_samples=(4, 6))
    >>> icc = finetune_texts(
    ...     tiny_model_path, tempfile.mkdtemp() + "/adapter", texts=episodes, lora=LoraSettings(r=2),
    ...     training=TrainingSettings(max_steps=1, batch_size=2, micro_batch_size=2, eval_every=0, device="cpu"),
    ...     progress=False,
    ... )
    >>> icc.condition
    'colour'
    >>> icc.set_params(n_clusters=2).fit(["a red rose", "a blue moon", "red paint"]).labels_.shape
    (3,)
    """
    lora = lora if lora is not None else LoraSettings()
    training = training if training is not None else TrainingSettings()
    checks = (("texts", texts, TextEpisodes), ("heldout", heldout, (TextEpisodes, type(None))),
              ("lora", lora, LoraSettings), ("training", training, TrainingSettings))
    for name, value, kind in checks:
        if not isinstance(value, kind):
            expected = getattr(kind, "__name__", "TextEpisodes or None")
            raise TypeError(f"{name} must be {expected}, got {type(value).__name__}.")
    if estimator not in ("icc", "attention"):
        raise ValueError(f"estimator must be 'icc' or 'attention', got {estimator!r}.")
    resolve_text_template(training.prompt)
    out = Path(out)
    _prepare_output(out, overwrite=overwrite, resume=resume)

    loaded, base, peft_model, tracked = load_for_training(model, lora, training)
    dataset = TextEpisodeDataset(loaded, texts, training.n_steps * training.batch_size, training,
                                 max_text_tokens=max_text_tokens, seed=training.seed)
    if dataset.n_cut:
        warnings.warn(f"Cut {dataset.n_cut} of the {len(texts)} training texts to max_text_tokens="
                      f"{max_text_tokens} tokens.", UserWarning, stacklevel=2)

    def heldout_scores():
        if heldout is None:
            return {}
        return text_heldout_scores(tracked, heldout, training, training.n_eval_episodes,
                                   max_text_tokens=max_text_tokens)

    run = training if heldout is not None else dataclasses.replace(training, eval_every=0)
    trainer = _build_trainer(peft_model, tracked, dataset, heldout_scores, run, out / CHECKPOINTS, progress)
    _, seconds, curve, losses = train_and_save(trainer, peft_model, out, resume=resume)
    write_text_adapter_card(out, base=base, episodes=texts, lora=lora, training=training, curve=curve,
                            losses=losses, steps=trainer.state.global_step, seconds=seconds,
                            tokens=trainer.tokens_seen, device=str(loaded.device), max_text_tokens=max_text_tokens,
                            n_cut=dataset.n_cut)
    from ..cluster import AttentionSpectralClustering, InContextClustering

    kind = InContextClustering if estimator == "icc" else AttentionSpectralClustering
    condition = texts.conditions[0] if len(texts.conditions) == 1 else None
    return kind(model=model, adapter=str(out), prompt=training.prompt, condition=condition, device=training.device,
                max_text_tokens=max_text_tokens)


def write_text_adapter_card(out, *, base, episodes, lora, training, curve, losses, steps, seconds, tokens, device,
                            max_text_tokens, n_cut):
    """Write the card (``sklearn_icc_adapter.json``, with the texts' conditions) and a README."""
    texts = {"n_texts": len(episodes), "n_cut": int(n_cut), "max_text_tokens": max_text_tokens,
             "n_clusters": list(episodes.n_clusters), "n_samples": list(episodes.n_samples),
             "conditions": {str(c): [str(v) for v in episodes.classes[c]] for c in episodes.conditions}}
    card = run_card(base=base, lora=lora, training=training, curve=curve, losses=losses, steps=steps,
                    seconds=seconds, device=device, kind="texts", texts=texts, train_tokens_this_run=int(tokens),
                    tokens_per_second=round(tokens / seconds, 1) if seconds > 0 else None)
    (out / ADAPTER_CARD).write_text(json.dumps(card, indent=2) + "\n")
    conditions = ", ".join(repr(c) for c in episodes.conditions)
    (out / "README.md").write_text(
        f"# sklearn-icc text adapter for {base['name']}\n\n"
        "A LoRA adapter trained by `sklearn_icc.finetune.finetune_texts()` on clustering episodes of "
        f"{len(episodes)} labelled texts, conditions {conditions}.\n\n"
        "```python\nfrom sklearn_icc import InContextClustering\n"
        f"icc = InContextClustering(model={base['model']!r}, n_clusters=3, adapter=PATH_OF_THIS_FOLDER, "
        f"prompt={training.prompt!r}, condition={episodes.conditions[0]!r})\nicc.fit(texts)\n```\n\n"
        f"- steps: {steps} ({steps * training.batch_size} episodes), {round(float(seconds), 1)} s on {device}\n"
    )
    return card
