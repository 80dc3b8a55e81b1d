"""Train the image projector and a LoRA on scikit-learn's digits; held-out accuracy before and after.

    python benchmarks/train_images.py                    # the default model, about 5 minutes on 1 thread
    python benchmarks/train_images.py --model tiny --steps 600 --learning-rate 3e-3   # tiny random Llama
    python benchmarks/train_images.py --model tiny --task colours ...                 # a sanity task

Needs the [vision] extra (``.venv-vision/bin/python``). No pretrained image encoder is
available offline, so the encoder is a small open_clip ViT with *random* weights
(32 px input, 8 px patches: a 4x4 grid, width 64, 2 layers), frozen; ``pooling=2`` gives
4 embeddings per image. ``load_digits`` (8x8 grey, 1797 images) is split by index: the
first 1200 images train, the other 597 are held out. Episodes have k in {2, 3} digit
classes and 10 to 20 images. Held-out accuracy and ARI of constrained decoding are
measured before training (random projector, no LoRA) and after, on the same held-out
episodes as KMeans (n_init=10) on the raw pixels and as uniform random labels (chance).
``--task colours`` swaps the digits for noisy 8x8 solid colours labelled by colour (4
classes), a task any working pipeline should learn.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune_images
from sklearn_icc.finetune.heldout import HELD_OUT_SEED_OFFSET
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.vision import ImageEncoder, ImageEpisodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENCODER_NAME = "sklearn-icc-bench-vit"
ENCODER_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}
N_TRAIN = 1200
HUES = np.array([[1.0, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 1.0], [0.9, 0.9, 0.1]])  # red, green, blue, yellow


def colour_images(n=1797, seed=0):
    """A sanity task: noisy 8x8 solid colours, labelled by colour (4 classes), as many as the digits."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(len(HUES), size=n)
    images = np.clip(HUES[labels][:, None, None, :] + rng.normal(0, 0.15, size=(n, 8, 8, 3)), 0, 1)
    return images, labels


def register_encoder(folder):
    import open_clip

    path = Path(folder) / f"{ENCODER_NAME}.json"
    path.write_text(json.dumps(ENCODER_CONFIG))
    open_clip.add_model_config(path)


def baseline_scores(digits, episodes, n_episodes, seed):
    """KMeans on the raw pixels, and uniform random labels (chance), on the held-out episodes
    ``finetune_images`` evaluates on."""
    rng = np.random.default_rng(seed)
    scores = {"kmeans_pixels": ([], []), "random_labels": ([], [])}
    for index in range(n_episodes):
        indices, y, _ = episodes.episode(index, seed=seed + HELD_OUT_SEED_OFFSET)
        k = int(y.max()) + 1
        predictions = {
            "kmeans_pixels": KMeans(k, n_init=10, random_state=0).fit_predict(digits[indices].reshape(len(indices), -1)),
            "random_labels": rng.integers(k, size=len(y)),
        }
        for name, pred in predictions.items():
            scores[name][0].append(clustering_accuracy(y, pred))
            scores[name][1].append(adjusted_rand_score(y, pred))
    return {name: {"accuracy": float(np.mean(a)), "ari": float(np.mean(r))} for name, (a, r) in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'tiny' for the tests' tiny random Llama (init 0.5)")
    parser.add_argument("--task", choices=("digits", "colours"), default="digits")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=None, help="stop training after this long")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the scores as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    work = Path(tempfile.mkdtemp(prefix="icc-train-images-"))
    register_encoder(work)
    model = args.model
    if model == "tiny":
        from tests.conftest import build_tiny_model_dir

        # A larger init than the default 0.02, as in the tests: a 32-wide model's logits can then move.
        model = build_tiny_model_dir(work / "tiny-llama", initializer_range=0.5)
    if args.task == "digits":
        digits = load_digits()
        images, targets = digits.images / 16.0, digits.target
    else:
        images, targets = colour_images(seed=args.seed)
    shape = dict(n_clusters=(2, 3), n_samples=(10, 20))
    train = ImageEpisodes(images[:N_TRAIN], targets[:N_TRAIN], **shape)
    heldout = ImageEpisodes(images[N_TRAIN:], targets[N_TRAIN:], **shape)
    encoder = ImageEncoder(ENCODER_NAME, pooling=2, projector="mlp", seed=args.seed)
    training = TrainingSettings(
        max_steps=args.steps, batch_size=args.batch_size, micro_batch_size=args.batch_size,
        learning_rate=args.learning_rate, eval_every=args.steps, n_eval_episodes=args.eval_episodes,
        time_limit_minutes=args.minutes, device="cpu", seed=args.seed,
    )
    started = time.perf_counter()
    finetune_images(model, work / "adapter", images=train, image_encoder=encoder, heldout=heldout,
                    lora=LoraSettings(r=args.rank, alpha=2 * args.rank), training=training, progress=True)
    seconds = time.perf_counter() - started
    card = json.loads((work / "adapter" / "sklearn_icc_adapter.json").read_text())
    before, after = card["learning_curve"][0], card["learning_curve"][-1]
    losses = card["train_losses"]
    result = {
        "model": args.model, "task": args.task, "steps": card["steps"], "episodes": card["episodes"], "seconds": round(seconds, 1),
        "train_seconds": card["train_seconds"], "first_loss": losses[0]["loss"],
        "last_loss_mean5": float(np.mean([e["loss"] for e in losses[-5:]])),
        "icc_before": {"accuracy": before["heldout_accuracy"], "ari": before["heldout_ari"]},
        "icc_after": {"accuracy": after["heldout_accuracy"], "ari": after["heldout_ari"]},
        **baseline_scores(images[N_TRAIN:], heldout, args.eval_episodes, args.seed),
        "eval_episodes": args.eval_episodes,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
