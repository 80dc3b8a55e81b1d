"""``finetune_images()``: train the image projector and a LoRA adapter on labelled image episodes.

The encoder is frozen: each image's pooled features are computed once, without
gradients, and reused by every episode. Each step builds the very prompt inference
builds (:func:`~sklearn_icc.runtime.prompts.embedded.build_embedded_prompt`, with the
projector's output as the images' embeddings) plus the answer constrained decoding
writes, and back-propagates the answer-only loss into the projector and the LoRA.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path


from ..runtime.model.adapters import ADAPTER_CARD, model_fingerprint
from ..runtime.model.atomic import write_json_atomic, write_text_atomic
from ..runtime.prompts.embedded import build_embedded_prompt, model_inputs
from ..runtime.model.loading import load_model_uncached
from ..runtime.prompts.templates import resolve_template
from ..vision.config import IMAGE_MARKERS, ImageEncoder
from ..vision.episodes import ImageEpisodes
from .cards import run_card
from .config import LoraSettings, TrainingSettings
from .examples import end_of_turn_id, example_from_prompt
from .heldout import HELD_OUT_SEED_OFFSET, score_held_out
from .training import _prepare_output, add_lora, answer_only_loss

PROJECTOR_FILE = "projector.safetensors"
FEATURE_CHUNK = 256  # images read and encoded at a time


def finetune_images(model="default", out="icc-image-adapter", *, images, image_encoder, heldout=None, lora=None,
                    training=None, overwrite=False, progress=True):
    """Train an image projector and a LoRA adapter on image episodes; return an estimator using both.

    Trainable: the projector (:class:`~sklearn_icc.vision.ImageProjector`, started from
    ``image_encoder.projector_weights`` when given, else seeded at random) and the LoRA
    on the LLM. Frozen: the image encoder, whose features are computed once per image.

    Parameters
    ----------
    model : str or path, default="default"
        The base LLM.
    out : str or path, default="icc-image-adapter"
        Directory for the adapter (peft files), the projector (``projector.safetensors``)
        and the card, which records the encoder settings.
    images : ImageEpisodes
        The labelled training images (a folder, or arrays with label columns).
    image_encoder : ImageEncoder
        The frozen encoder, its pooling and the projector's kind.
    heldout : ImageEpisodes, default=None
        Other images for the held-out accuracy and ARI every ``training.eval_every``
        steps (and before the first step); ``None`` skips them.
    lora : LoraSettings, default=None
    training : TrainingSettings, default=None
        Used: ``max_steps``/``n_episodes``, ``batch_size`` (episodes per step, one
        forward pass each), ``learning_rate``, ``scheduler``, ``warmup_ratio``,
        ``eval_every``, ``n_eval_episodes``, ``label_order``, ``prompt``,
        ``time_limit_minutes``, ``device``, ``seed``.
    overwrite : bool, default=False
    progress : bool, default=True
        Print the loss and held-out scores as training goes.

    Returns
    -------
    InContextClustering
        Unfitted, with ``adapter=out`` and ``image_encoder`` reading the trained projector.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("open_clip", reason="needs the [vision] extra")
    >>> import tempfile, numpy as np
    >>> from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune_images
    >>> from sklearn_icc.vision import ImageEncoder, ImageEpisodes
    >>> images = np.zeros((8, 8, 8)); images[4:] = 1.0       # four black, four white
    >>> episodes = ImageEpisodes(images, [0] * 4 + [1] * 4, n_clusters=(2,), n_samples=(4, 6))
    >>> icc = finetune_images(
    ...     tiny_model_path, tempfile.mkdtemp() + "/adapter", images=episodes,
    ...     image_encoder=ImageEncoder(tiny_vit_name, pooling=6),
    ...     lora=LoraSettings(r=2), training=TrainingSettings(max_steps=1, batch_size=2, micro_batch_size=2,
    ...     eval_every=0, device="cpu"), progress=False,
    ... )
    >>> icc.set_params(n_clusters=2).fit(list(images)).labels_.shape
    (8,)
    """
    import torch
    from transformers import get_scheduler

    lora = lora if lora is not None else LoraSettings()
    training = training if training is not None else TrainingSettings()
    checks = (("images", images, ImageEpisodes), ("image_encoder", image_encoder, ImageEncoder),
              ("lora", lora, LoraSettings), ("training", training, TrainingSettings))
    for name, value, kind in checks + (("heldout", heldout, (ImageEpisodes, type(None))),):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be {getattr(kind, '__name__', 'ImageEpisodes or None')}, "
                            f"got {type(value).__name__}.")
    out = Path(out)
    _prepare_output(out, overwrite=overwrite, resume=False)

    loaded = load_model_uncached(model, device=training.device, dtype="float32")
    base = {"name": loaded.name, "model": str(model), "fingerprint": model_fingerprint(loaded.model)}
    features = frozen_features(images, image_encoder, loaded.device)
    held_features = frozen_features(heldout, image_encoder, loaded.device) if heldout is not None else None
    from ..vision.projector import build_projector

    hidden = loaded.model.get_input_embeddings().embedding_dim
    projector = build_projector(image_encoder, features.shape[-1], hidden).to(loaded.device)
    peft_model = add_lora(loaded.model, lora, seed=training.seed)
    tracked = dataclasses.replace(loaded, model=peft_model.get_base_model())
    template = resolve_template(training.prompt)
    eot_id = end_of_turn_id(loaded.tokenizer)

    parameters = [p for p in peft_model.parameters() if p.requires_grad] + list(projector.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=training.learning_rate, weight_decay=0.0)
    n_steps = training.n_steps
    scheduler = get_scheduler(training.scheduler, optimizer, num_warmup_steps=int(training.warmup_ratio * n_steps),
                              num_training_steps=n_steps)
    curve, losses = [], []

    def evaluate(step):
        if held_features is None or not training.eval_every:
            return
        scores = image_heldout_scores(tracked, projector, held_features, heldout, training, training.n_eval_episodes)
        curve.append({"step": step, "episodes": step * training.batch_size, **scores})
        if progress:
            print(f"step {step}: held-out accuracy {scores['heldout_accuracy']:.3f}, ARI {scores['heldout_ari']:.3f}")

    evaluate(0)
    started = time.perf_counter()
    step = 0
    while step < n_steps:
        peft_model.train()
        projector.train()
        total = 0.0
        for j in range(training.batch_size):
            inputs = image_training_inputs(tracked, projector, features, images, step * training.batch_size + j,
                                           template=template, eot_id=eot_id, settings=training)
            loss = answer_only_loss(peft_model, inputs) / training.batch_size
            loss.backward()
            total += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append({"step": step, "loss": total})
        if progress:
            print(f"step {step}/{n_steps}: loss {total:.4f}")
        over_time = (training.time_limit_minutes is not None
                     and time.perf_counter() - started > 60 * training.time_limit_minutes)
        if training.eval_every and (step % training.eval_every == 0 or step == n_steps or over_time):
            evaluate(step)
        if over_time:
            break
    seconds = time.perf_counter() - started

    peft_model.save_pretrained(out)
    projector.save(out / PROJECTOR_FILE)
    trained_encoder = dataclasses.replace(image_encoder, projector_weights=str(out / PROJECTOR_FILE))
    write_image_adapter_card(out, base=base, encoder=image_encoder, episodes=images, lora=lora, training=training,
                             curve=curve, losses=losses, steps=step, seconds=seconds, device=str(loaded.device))
    from ..cluster import InContextClustering

    return InContextClustering(model=model, adapter=str(out), prompt=training.prompt, device=training.device,
                               image_encoder=trained_encoder)


def frozen_features(episodes, encoder, device):
    """The frozen encoder's pooled features of every image, ``(n_images, tokens, width)``, computed once."""
    import torch

    from ..vision.encoder import image_features

    # Files are read a chunk at a time, so a large folder is never all in memory as pixels;
    # a copy made outside inference mode is an ordinary tensor the projector can train on.
    chunks = [image_features(episodes.images[start:start + FEATURE_CHUNK], encoder, device)
              for start in range(0, len(episodes.images), FEATURE_CHUNK)]
    return torch.cat(chunks).clone()


def image_training_inputs(loaded, projector, features, episodes, index, *, template, eot_id, settings):
    """``inputs_embeds``, ``attention_mask`` and ``labels`` (answer only) of training episode ``index``.

    Differentiable in the projector (and the LoRA through the model's embeddings).
    """
    import torch

    indices, y, condition = episodes.episode(index, seed=settings.seed)
    k = int(y.max()) + 1
    embeddings = projector(features[indices]).to(loaded.dtype)
    prompt = build_embedded_prompt(embeddings, k, loaded.tokenizer, template=template, condition=condition,
                                   markers=IMAGE_MARKERS)
    example = example_from_prompt(loaded, prompt, y, k, label_order=settings.label_order, eot_id=eot_id)
    ids = torch.tensor([example.input_ids], dtype=torch.long, device=loaded.device)
    labels = torch.tensor([example.labels], dtype=torch.long, device=loaded.device)
    inputs_embeds = model_inputs(loaded.model, ids, prompt)["inputs_embeds"]
    return {"inputs_embeds": inputs_embeds, "attention_mask": torch.ones_like(ids), "labels": labels}


def image_heldout_scores(loaded, projector, features, episodes, settings, n_episodes):
    """:func:`~sklearn_icc.finetune.heldout.score_held_out` on ``n_episodes`` episodes of
    ``episodes`` (the held-out seed stream), the projector in eval mode meanwhile."""
    import torch

    template = resolve_template(settings.prompt)

    def episode_prompt(index):
        indices, y, condition = episodes.episode(index, seed=settings.seed + HELD_OUT_SEED_OFFSET)
        with torch.no_grad():
            embeddings = projector(features[indices]).to(loaded.dtype)
        return build_embedded_prompt(embeddings, int(y.max()) + 1, loaded.tokenizer, template=template,
                                     condition=condition, markers=IMAGE_MARKERS), y

    return score_held_out(loaded, episode_prompt, n_episodes, modules=(projector,))


def write_image_adapter_card(out, *, base, encoder, episodes, lora, training, curve, losses, steps, seconds, device):
    """Write the card (``sklearn_icc_adapter.json``, with the encoder settings) and a README."""
    settings = dataclasses.asdict(encoder)
    settings.update(pretrained=None if encoder.pretrained is None else str(encoder.pretrained),
                    projector_weights=PROJECTOR_FILE)
    images = {"n_images": len(episodes), "n_clusters": list(episodes.n_clusters), "n_samples": list(episodes.n_samples),
              "conditions": {str(c): [str(v) for v in episodes.classes[c]] for c in episodes.conditions}}
    card = run_card(base=base, lora=lora, training=training, curve=curve, losses=losses, steps=steps,
                    seconds=seconds, device=device, kind="images", image_encoder=settings, images=images)
    write_json_atomic(out / ADAPTER_CARD, card)
    write_text_atomic(out / "README.md", 
        f"# sklearn-icc image adapter for {base['name']}\n\n"
        "A LoRA adapter and an image projector trained by `sklearn_icc.finetune.finetune_images()`; "
        f"the encoder settings are in `{ADAPTER_CARD}` (`image_encoder`), the projector in "
        f"`{PROJECTOR_FILE}`.\n\n```python\nfrom sklearn_icc import InContextClustering\n"
        "from sklearn_icc.vision import ImageEncoder\n"
        f"encoder = ImageEncoder(**card['image_encoder'] | {{'projector_weights': PATH_OF_THIS_FOLDER + '/{PROJECTOR_FILE}'}})\n"
        f"icc = InContextClustering(model={base['model']!r}, n_clusters=3, adapter=PATH_OF_THIS_FOLDER, image_encoder=encoder)\n"
        f"```\n\n- steps: {steps} ({steps * training.batch_size} episodes), {round(float(seconds), 1)} s on {device}\n"
    )
    return card
