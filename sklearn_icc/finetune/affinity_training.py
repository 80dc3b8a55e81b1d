"""Train the affinity model (:mod:`sklearn_icc.runtime.model.affinity`) on synthetic episodes.

A plain PyTorch loop: episodes ``index = step * batch_size + i`` of the paper's grid
(:func:`~sklearn_icc.datasets.grid_episode`, so a resumed run sees the same data),
the pairwise loss, AdamW with two learning rates (the model's layers, the new parts),
warm-up then cosine decay. Every ``save_every`` steps a checkpoint (the trainable
state, the optimiser, the curve) is written atomically into ``out/checkpoints``;
``resume=True`` continues from the newest one that loads. The held-out curve (df 1,
1.5, 5; d=3, k=3) is printed as it goes. :func:`~.affinity_export.export_affinity_adapter`
turns the final state into the shipped adapter folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ..datasets import EpisodeGrid, grid_episode, make_mixture
from .affinity_config import AffinitySettings

CHECKPOINTS = "checkpoints"
FINAL_STATE = "final_state.pt"


def heldout_episodes(settings):
    """The curve's episodes: ``{df: [(X, y), ...]}``, d=3, k=3, n 10-50, from their own seeds."""
    episodes = {}
    for j, df in enumerate(settings.eval_dfs):
        rows = []
        for i in range(settings.n_eval_episodes):
            rng = np.random.default_rng([settings.seed, 99, j, i])
            n = int(rng.integers(10, 51))
            rows.append(make_mixture(n, 3, 3, df=float(df), random_state=int(rng.integers(2**31 - 1))))
        episodes[float(df)] = rows
    return episodes


def score_episodes(model, episodes, n_clusters=None):
    """Mean ACC and ARI of spectral clustering on the model's affinity (k known)."""
    from sklearn.metrics import adjusted_rand_score

    from ..cluster._affinity import spectral_labels
    from ..metrics import clustering_accuracy
    from ..runtime.model.affinity import affinity_matrices

    affinities = affinity_matrices(model, [X for X, _ in episodes])
    acc, ari = [], []
    for (X, y), A in zip(episodes, affinities):
        labels = spectral_labels(A, n_clusters or int(y.max()) + 1, random_state=0)
        acc.append(clustering_accuracy(y, labels))
        ari.append(adjusted_rand_score(y, labels))
    return float(np.mean(acc)), float(np.mean(ari))


def learning_rate_factor(step, settings):
    """The schedule's multiplier at ``step`` (0-based): linear warm-up, then cosine or constant."""
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    if settings.scheduler == "constant":
        return 1.0
    span = max(1, settings.n_steps - settings.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - settings.warmup_steps) / span)))


def build_optimizer(model, settings):
    import torch

    layer_params = [p for p in model.layers.parameters() if p.requires_grad]
    new_params = list(model.encoder.parameters()) + list(model.head.parameters())
    groups = [{"params": layer_params, "lr": settings.layer_learning_rate, "peak": settings.layer_learning_rate},
              {"params": new_params, "lr": settings.new_learning_rate, "peak": settings.new_learning_rate}]
    # fused: one pass over the 32M weights, no temporaries (foreach took 4x as long here)
    return torch.optim.AdamW(groups, weight_decay=settings.weight_decay, fused=True)


def keep_freed_memory():
    """Ask glibc to keep freed blocks instead of returning them to the system (best effort).

    Each step frees and reallocates its activations and gradients (hundreds of MB); by
    default glibc unmaps them, and the page faults of mapping them again took half the
    CPU time of a step on a 2-core machine.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))


GROUP = 8  # batches whose episodes are sorted by size together, so that a batch pads little


def batch_indices(grid, step, settings):
    """The episode indices of step ``step``: the ``GROUP`` batches of one block of episodes
    share them sorted by their number of points (deterministic, so a resume sees the same)."""
    from ..datasets import episode_shape

    block, position = divmod(int(step), GROUP)
    size = GROUP * settings.batch_size
    indices = range(block * size, (block + 1) * size)
    by_size = sorted(indices, key=lambda index: (episode_shape(grid, index, seed=settings.seed)[3], index))
    return by_size[position * settings.batch_size:(position + 1) * settings.batch_size]


def save_checkpoint(folder, step, model, optimizer, curve, settings, seconds=0.0, keep=2):
    """Write ``step-<step>.pt`` atomically (a temporary file, then a rename); keep the newest ``keep``."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {"step": step, "model": trainable_state(model), "optimizer": optimizer.state_dict(),
             "curve": curve, "seconds": seconds, "settings": json.dumps(settings.to_dict(), default=str)}
    fd, tmp = tempfile.mkstemp(prefix=".tmp-step-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, folder / f"step-{step}.pt")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in sorted(folder.glob("step-*.pt"), key=_step_of)[:-keep]:
        old.unlink()


def _step_of(path):
    return int(path.stem.split("-")[1])


def trainable_state(model):
    """The parts that train (layers, encoder, head), as CPU tensors."""
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()
            if name.startswith(("layers.", "encoder.", "head."))}


def load_newest_checkpoint(folder):
    """The newest checkpoint in ``folder`` that loads, or ``None``; unreadable ones are skipped with a warning."""
    import torch

    folder = Path(folder)
    for path in sorted(folder.glob("step-*.pt"), key=_step_of, reverse=True) if folder.is_dir() else []:
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # a truncated or corrupt file: try the one before
            warnings.warn(f"Checkpoint {path} does not load ({exc}); trying an earlier one.", RuntimeWarning,
                          stacklevel=2)
    return None


def train_affinity(model="default", out="affinity-run", *, settings=None, grid=None, resume=False,
                   overwrite=False, progress=True):
    """Train an affinity model and write its final state into ``out``.

    Parameters
    ----------
    model : str or path, default="default"
        The base model (its first ``settings.spec.n_layers`` layers are trained).
    out : str or path, default="affinity-run"
        The run's folder: ``checkpoints/``, ``final_state.pt`` and ``run.json`` (the
        settings, the curve, the losses, the time).
    settings : AffinitySettings, default=None
    grid : EpisodeGrid, default=None
        Training episodes; ``None`` is the paper's grid (held-out dfs excluded).
    resume : bool, default=False
        Continue from the newest checkpoint in ``out/checkpoints``.
    overwrite : bool, default=False
        Replace a non-empty ``out``.
    progress : bool, default=True
        Print the loss and the held-out curve as it goes.

    Returns
    -------
    run : dict
        What ``run.json`` holds.
    """
    import torch

    from ..runtime.model.adapters import model_fingerprint
    from ..runtime.model.affinity import build_affinity_model, pad_episodes, pairwise_loss
    from ..runtime.model.loading import load_model_uncached

    settings = settings if settings is not None else AffinitySettings()
    grid = grid if grid is not None else EpisodeGrid()
    if not isinstance(settings, AffinitySettings):
        raise TypeError(f"settings must be an AffinitySettings, got {type(settings).__name__}.")
    if max(grid.n_features) > settings.spec.max_features:
        raise ValueError(f"The grid has episodes of {max(grid.n_features)} features, over "
                         f"AffinitySpec.max_features={settings.spec.max_features}.")
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise ValueError(f"The output directory {str(out)!r} is not empty; pass overwrite=True or resume=True.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    keep_freed_memory()

    loaded = load_model_uncached(model, device="cpu", dtype="float32")
    net = build_affinity_model(loaded.model, loaded.tokenizer, settings.spec, seed=settings.seed,
                               random_layers=settings.random_layers)
    base = {"name": loaded.name, "model": str(model), "fingerprint": model_fingerprint(loaded.model)}
    del loaded
    if settings.lora_rank is not None:
        from .affinity_lora import apply_lora

        apply_lora(net, settings.lora_rank)
    optimizer = build_optimizer(net, settings)
    step, curve, losses = 0, [], []
    checkpoint = load_newest_checkpoint(out / CHECKPOINTS) if resume else None
    if checkpoint is not None:
        net.load_state_dict(checkpoint["model"], strict=False)
        optimizer.load_state_dict(checkpoint["optimizer"])
        step, curve = checkpoint["step"], checkpoint["curve"]
    evaluation = heldout_episodes(settings)

    def log(text):
        if progress:
            print(text, flush=True)

    def evaluate():
        net.eval()
        entry = {"step": step, "episodes": step * settings.batch_size}
        for df, episodes in evaluation.items():
            acc, ari = score_episodes(net, episodes)
            entry[f"acc_df{df:g}"], entry[f"ari_df{df:g}"] = round(acc, 4), round(ari, 4)
        net.train()
        curve.append(entry)
        log("heldout " + json.dumps(entry))

    started, seconds_before = time.perf_counter(), (checkpoint or {}).get("seconds", 0.0)
    if settings.eval_every and step == 0:
        evaluate()
    net.train()
    window = []
    while step < settings.n_steps:
        factor = learning_rate_factor(step, settings)
        for group in optimizer.param_groups:
            group["lr"] = group["peak"] * factor
        batch = [grid_episode(grid, index, seed=settings.seed) for index in batch_indices(grid, step, settings)]
        points, labels, mask = pad_episodes(batch, settings.spec.max_features)
        loss = pairwise_loss(net.head, net(points, mask), labels, mask)
        optimizer.zero_grad(set_to_none=False)  # keep the gradient buffers from step to step
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        step += 1
        window.append(float(loss.detach()))
        if step % 50 == 0 or step == settings.n_steps:
            elapsed = time.perf_counter() - started
            losses.append({"step": step, "loss": round(float(np.mean(window)), 5)})
            log(f"step {step}/{settings.n_steps} loss {np.mean(window):.4f} "
                f"{elapsed / 60:.1f} min ({step * settings.batch_size / (seconds_before + elapsed):.2f} episodes/s)")
            window = []
        out_of_time = ((settings.time_limit_minutes is not None
                        and time.perf_counter() - started > 60 * settings.time_limit_minutes)
                       or (settings.stop_step is not None and step >= settings.stop_step))
        if settings.eval_every and (step % settings.eval_every == 0 or step == settings.n_steps or out_of_time):
            evaluate()
        if step % settings.save_every == 0 or step == settings.n_steps or out_of_time:
            save_checkpoint(out / CHECKPOINTS, step, net, optimizer, curve, settings,
                            seconds=seconds_before + time.perf_counter() - started)
        if out_of_time:
            log(f"stopped at step {step} of {settings.n_steps}")
            break
    seconds = seconds_before + time.perf_counter() - started
    run = {"base_model": base, "settings": settings.to_dict(), "grid": grid.__dict__, "steps": step,
           "episodes": step * settings.batch_size, "train_seconds": round(seconds, 1),
           "torch_threads": torch.get_num_threads(), "learning_curve": curve, "train_losses": losses,
           "resumed": checkpoint is not None}
    tmp = out / ("tmp-" + FINAL_STATE)
    if settings.lora_rank is not None:
        from .affinity_lora import merged_copy

        net = merged_copy(net)
    with open(tmp, "wb") as handle:
        torch.save(trainable_state(net), handle)
    os.replace(tmp, out / FINAL_STATE)
    from ..runtime.model.atomic import write_json_atomic

    write_json_atomic(out / "run.json", json.loads(json.dumps(run, default=str)))
    return run
