"""``finetune()``: train a LoRA adapter on synthetic episodes with transformers' Trainer."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import warnings
from pathlib import Path

from ..datasets import EpisodeGrid
from ..runtime.model.adapters import model_fingerprint
from ..runtime.model.loading import load_model_uncached
from .cards import write_adapter_card
from .config import LoraSettings, TrainingSettings
from .embedding_training import (
    PointEpisodeDataset,
    collate_point_examples,
    new_point_projector,
    point_training_inputs,
    restore_point_projector,
    save_point_projector,
    tracked_with_projector,
)
from .examples import IGNORE_INDEX, EpisodeDataset, collate_examples
from .heldout import held_out_scores

CHECKPOINTS = "checkpoints"


def finetune(
    model="default",
    out="icc-adapter",
    *,
    grid=None,
    lora=None,
    training=None,
    overwrite=False,
    resume=False,
    estimator="icc",
    progress=True,
):
    """Train a LoRA adapter for in-context clustering and return an estimator using it.

    Episodes are drawn from ``grid`` (the paper's synthetic mixtures); each becomes
    the exact prompt that inference builds plus the answer that constrained decoding
    writes, and only the answer's tokens (labels, separators, end of turn) carry the
    next-token-prediction loss. Training uses transformers' ``Trainer`` with peft,
    batches episodes of similar length together and pads each micro-batch only to
    its longest episode. With ``point_format="embedding"`` a point projector
    (:class:`~sklearn_icc.runtime.model.point_projector.PointProjector`) trains with the LoRA
    and is saved beside it and in every checkpoint.

    Parameters
    ----------
    model : str or path, default="default"
        The base model, as for :class:`~sklearn_icc.InContextClustering`.
    out : str or path, default="icc-adapter"
        Directory for the adapter (peft files), its card, the resumable checkpoints
        (``out/checkpoints``) and, for ``point_format="embedding"``,
        ``point_projector.safetensors``.
    grid : EpisodeGrid, default=None
        Training episodes; ``None`` is the paper's grid (held-out df excluded).
    lora : LoraSettings, default=None
        ``None`` is the paper's r=64, alpha=16, dropout 0.05 on q, k, v, o.
    training : TrainingSettings, default=None
        Steps, batch, learning rate, prompt settings, device; ``None`` uses defaults.
    overwrite : bool, default=False
        Replace an existing ``out``; otherwise a non-empty ``out`` is an error.
    resume : bool, default=False
        Continue from the last complete checkpoint in ``out/checkpoints``.
    estimator : {"icc", "attention"}, default="icc"
        Return an :class:`~sklearn_icc.InContextClustering` or an
        :class:`~sklearn_icc.AttentionSpectralClustering` using the adapter.
    progress : bool, default=True
        Show the progress bar and held-out scores as training goes.

    Returns
    -------
    estimator : InContextClustering or AttentionSpectralClustering
        Unfitted, with ``adapter=out`` and the prompt settings used for training.

    Examples
    --------
    Two steps on a tiny random model (``tiny_model_path``, a local folder); a real run
    trains the default model for hours on a CPU (see the user guide):

    >>> import tempfile
    >>> from sklearn_icc.datasets import EpisodeGrid
    >>> from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune
    >>> out = tempfile.mkdtemp() + "/adapter"
    >>> icc = finetune(
    ...     tiny_model_path, out,
    ...     grid=EpisodeGrid(n_clusters=(2,), n_features=(1,), n_samples=(4, 6)),
    ...     lora=LoraSettings(r=2),
    ...     training=TrainingSettings(max_steps=2, batch_size=2, micro_batch_size=2, eval_every=0, device="cpu"),
    ...     progress=False,
    ... )
    >>> icc.adapter == out, icc.fit([[0.0], [0.1], [5.0], [5.1]]).labels_.shape
    (True, (4,))
    """
    grid = grid if grid is not None else EpisodeGrid()
    lora = lora if lora is not None else LoraSettings()
    training = training if training is not None else TrainingSettings()
    for name, value, kind in (("grid", grid, EpisodeGrid), ("lora", lora, LoraSettings),
                              ("training", training, TrainingSettings)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}.")
    if estimator not in ("icc", "attention"):
        raise ValueError(f"estimator must be 'icc' or 'attention', got {estimator!r}.")
    out = Path(out)
    _prepare_output(out, overwrite=overwrite, resume=resume)

    loaded, base, peft_model, tracked = load_for_training(model, lora, training)
    n_episodes, projector = training.n_steps * training.batch_size, None
    if training.point_format == "embedding":
        if max(grid.n_features) > training.max_features:
            raise ValueError(f"The grid has episodes of d={max(grid.n_features)} features, over "
                             f"TrainingSettings.max_features={training.max_features}; raise max_features.")
        projector = new_point_projector(peft_model, training)
        tracked = tracked_with_projector(tracked, projector)
        dataset = PointEpisodeDataset(loaded, grid, n_episodes, training, seed=training.seed)
    else:
        dataset = EpisodeDataset(loaded, grid, n_episodes, training, seed=training.seed)

    def heldout():
        return held_out_scores(tracked, grid, training, training.n_eval_episodes)

    trainer = _build_trainer(peft_model, tracked, dataset, heldout, training, out / CHECKPOINTS, progress,
                             projector=projector)
    checkpoint, seconds, curve, losses = train_and_save(trainer, peft_model, out, resume=resume, projector=projector)
    write_adapter_card(
        out, base=base, grid=grid, lora=lora, training=training, curve=curve, losses=losses,
        steps=trainer.state.global_step, seconds=seconds, tokens=trainer.tokens_seen,
        device=str(loaded.device), resumed_from=checkpoint,
    )
    from ..cluster import AttentionSpectralClustering, InContextClustering

    kind = InContextClustering if estimator == "icc" else AttentionSpectralClustering
    return kind(model=model, adapter=str(out), prompt=training.prompt, point_format=training.point_format,
                device=training.device)


def load_for_training(model, lora, training):
    """A fresh float32 copy of ``model`` with a new LoRA: ``(loaded, base, peft_model, tracked)``.

    ``base`` describes the base model for the adapter card; ``tracked`` is ``loaded``
    whose model is the one under training, for the held-out evaluations. Shared by
    every kind of training.
    """
    loaded = load_model_uncached(model, device=training.device, dtype="float32")
    base = {"name": loaded.name, "model": str(model), "fingerprint": model_fingerprint(loaded.model)}
    peft_model = add_lora(loaded.model, lora, seed=training.seed)
    return loaded, base, peft_model, dataclasses.replace(loaded, model=peft_model.get_base_model())


def train_and_save(trainer, peft_model, out, *, resume, projector=None):
    """Train (from the newest complete checkpoint when ``resume``) and save the adapter into ``out``.

    A point ``projector`` is restored from the checkpoint and saved beside the adapter.
    Returns ``(checkpoint resumed from or None, seconds, held-out curve, losses)``;
    shared by every kind of training.
    """
    started = time.perf_counter()
    checkpoint = last_complete_checkpoint(out / CHECKPOINTS) if resume else None
    if checkpoint is not None and projector is not None:
        restore_point_projector(projector, checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - started
    curve = [entry for entry in trainer.state.log_history if "heldout_accuracy" in entry]
    losses = [entry for entry in trainer.state.log_history if "loss" in entry]
    peft_model.save_pretrained(out)
    if projector is not None:
        save_point_projector(projector, out)
    return checkpoint, seconds, curve, losses


def _prepare_output(out, *, overwrite, resume):
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise ValueError(
                f"The output directory {str(out)!r} exists and is not empty; pass overwrite=True "
                "to replace it, or resume=True to continue its run."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def add_lora(model, lora, seed=0):
    """Wrap ``model`` with LoRA adapters; an unknown target module is a ``ValueError``."""
    import torch
    from peft import LoraConfig, get_peft_model

    linear = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    unknown = sorted(set(lora.target_modules) - linear)
    if unknown:
        raise ValueError(
            f"LoraSettings.target_modules {unknown} are not linear layers of this model; "
            f"it has {sorted(linear)}."
        )
    config = LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=list(lora.target_modules),
        layers_to_transform=list(lora.layers) if lora.layers is not None else None, task_type="CAUSAL_LM",
    )
    torch.manual_seed(seed)
    return get_peft_model(model, config)


def answer_only_loss(model, inputs, num_items_in_batch=None):
    """Next-token loss on the answer tokens, computing vocabulary logits only there.

    The output layer is a fifth of a small model's compute and its logits the largest
    tensor of a step; prompt positions carry no loss, so they skip both. Normalised by
    ``num_items_in_batch`` (all answer tokens of the accumulated batch) when given,
    which keeps gradient accumulation exact.
    """
    import torch

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(causal_lm, causal_lm.base_model_prefix)
    head = causal_lm.get_output_embeddings()
    # Image episodes come as ``inputs_embeds`` (placeholders swapped for projected images).
    tokens = {"inputs_embeds": inputs["inputs_embeds"]} if "inputs_embeds" in inputs else {"input_ids": inputs["input_ids"]}
    hidden = body(**tokens, attention_mask=inputs["attention_mask"]).last_hidden_state
    targets = inputs["labels"][:, 1:]
    keep = targets != IGNORE_INDEX
    logits = head(hidden[:, :-1][keep]).float()
    loss = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum")
    if num_items_in_batch is None:
        return loss / keep.sum().clamp(min=1)
    return loss / num_items_in_batch


def last_complete_checkpoint(folder):
    """The newest checkpoint whose trainer state was written whole (the last file a save writes).

    A checkpoint whose ``trainer_state.json`` is missing, truncated or not JSON (a save
    cut short) is skipped with a warning, for the newest complete one before it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    candidates = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    for checkpoint in sorted(candidates, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        state = checkpoint / "trainer_state.json"
        if not state.is_file():
            continue
        try:
            json.loads(state.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            warnings.warn(
                f"Checkpoint {checkpoint} is incomplete ({state.name} is unreadable: {exc}); "
                "resuming from an earlier one.",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        return str(checkpoint)
    return None


def _build_trainer(peft_model, tracked, dataset, heldout, training, checkpoints, progress, projector=None):
    """The Trainer of a run; ``heldout()`` returns the held-out scores (a dict) at each evaluation.

    With a point ``projector`` (attached to ``peft_model``), batches carry the points'
    features, each step projects them into the embeddings, and checkpoints hold it.
    """
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_pt_utils import LengthGroupedSampler

    on_gpu = tracked.device.type == "cuda"
    bf16 = on_gpu and training.dtype in ("auto", "bfloat16")
    n_steps = training.n_steps
    args = TrainingArguments(
        output_dir=str(checkpoints),
        max_steps=n_steps,
        per_device_train_batch_size=training.micro_batch_size,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        learning_rate=training.learning_rate,
        lr_scheduler_type=training.scheduler,
        warmup_steps=training.warmup_ratio,
        weight_decay=0.0,
        logging_steps=1 if n_steps <= 200 else 10,
        save_strategy="steps",
        save_steps=training.save_every,
        save_total_limit=2,
        report_to="none",
        bf16=bf16,
        fp16=on_gpu and training.dtype == "float16",
        use_cpu=tracked.device.type == "cpu",
        seed=training.seed,
        data_seed=training.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        activation_checkpointing=training.gradient_checkpointing,
        disable_tqdm=not progress,
    )
    pad_id = tracked.tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tracked.tokenizer.eos_token_id

    class EpisodeTrainer(Trainer):
        tokens_seen = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if projector is not None:
                inputs = point_training_inputs(projector, model, inputs)
            loss = answer_only_loss(model, inputs, num_items_in_batch)
            return (loss, None) if return_outputs else loss

        def _get_train_sampler(self, train_dataset=None):
            # Episodes of similar length share a batch: little padding, without packing.
            generator = torch.Generator().manual_seed(training.seed)
            return LengthGroupedSampler(
                training.batch_size, lengths=dataset.length_keys(), generator=generator
            )

        def save_model(self, output_dir=None, _internal_call=False):
            super().save_model(output_dir, _internal_call)
            if projector is not None and output_dir is not None:
                # Inside the checkpoint before its trainer_state.json, the last file a save writes.
                save_point_projector(projector, output_dir)

    def collate(features):
        trainer.tokens_seen += sum(len(f["input_ids"]) for f in features)
        return (collate_examples if projector is None else collate_point_examples)(features, pad_id)

    limit = None if training.time_limit_minutes is None else 60 * training.time_limit_minutes
    started = time.perf_counter()

    def evaluate(state):
        scores = heldout()
        entry = {"step": state.global_step, "episodes": state.global_step * training.batch_size, **scores}
        state.log_history.append(entry)
        if progress:
            from tqdm.auto import tqdm

            tqdm.write(
                f"step {state.global_step}: held-out accuracy {scores['heldout_accuracy']:.3f}, "
                f"ARI {scores['heldout_ari']:.3f}"
            )

    class HeldOut(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if training.eval_every and state.global_step == 0:
                evaluate(state)  # the starting point of the learning curve: the model before training

        def on_step_end(self, args, state, control, **kwargs):
            if limit is not None and time.perf_counter() - started > limit:
                control.should_training_stop = True
                control.should_save = True
            every = training.eval_every
            if every and (state.global_step % every == 0 or state.global_step == state.max_steps
                          or control.should_training_stop):
                evaluate(state)
            return control

    trainer = EpisodeTrainer(
        model=peft_model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[HeldOut()]
    )
    if not progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # it prints every log line when the bar is off
    return trainer
