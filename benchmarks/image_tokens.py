"""What one image costs in prompt tokens, per pooling size, and how long encoding takes.

    python benchmarks/image_tokens.py

Needs the [vision] extra (``make setup-vision``; run with ``.venv-vision/bin/python``).
Builds open_clip's ViT-B-16 with random weights (the architecture fixes the 14x14 patch
grid at 224 px; weights do not change the counts) and the tests' tiny ViT (6x6 grid).
Prompt tokens per image = embeddings + the ``<image>``/``</image>`` markers + the
separator, as written by the tokenizer of the default model (SmolLM2-135M-Instruct) and
of the tests' character-level tokenizer; read off the point spans of a built prompt.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_icc.runtime import load_model
from sklearn_icc.runtime.decoding.constrained import answer_tokens
from sklearn_icc.runtime.prompts.embedded import build_embedded_prompt
from sklearn_icc.vision import ImageEncoder, image_features, load_vision_tower, tokens_per_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import build_char_tokenizer  # noqa: E402
from tests.vision.conftest import TINY_VIT, TINY_VIT_CONFIG  # noqa: E402

POOLINGS = (1, 2, 3, 6, 7, 9, "embedding")


def span_cost(tokenizer, per_image):
    """Prompt tokens of an inner image (markers, embeddings, separator) in a 3-image prompt."""
    prompt = build_embedded_prompt(torch.zeros(3, per_image, 8), 2, tokenizer)
    return int(np.diff(prompt.point_spans[1])[0])


def max_images(loaded, per_image, n_clusters=3):
    """The most images whose prompt and constrained answer fit the LLM's context window."""
    layout = answer_tokens(loaded, n_clusters)
    low, high = 1, loaded.context_length
    while low < high:
        mid = (low + high + 1) // 2
        prompt = build_embedded_prompt(torch.zeros(mid, per_image, 8), n_clusters, loaded.tokenizer)
        fits = prompt.n_tokens + layout.n_answer_tokens(mid) <= loaded.context_length
        low, high = (mid, high) if fits else (low, mid - 1)
    return low


def table(model_name, tokenizers, loaded):
    tower = load_vision_tower(model_name, None, 0, "cpu")
    rows = [f"\n{model_name}: {tower.grid}x{tower.grid} patch grid, width {tower.width}, embedding {tower.embed_dim}"]
    rows.append(
        "| pooling | embeddings per image | "
        + " | ".join(f"prompt tokens per image ({name})" for name in tokenizers)
        + f" | images in {loaded.context_length} tokens (SmolLM2, k=3) |"
    )
    rows.append("|---|---|" + "---|" * (len(tokenizers) + 1))
    for pooling in POOLINGS:
        for drop in (False, True):
            try:
                m = tokens_per_image(tower.grid, pooling, drop_remainder=drop)
            except ValueError:
                if not drop:
                    rows.append(f"| {pooling} | ValueError: does not divide {tower.grid} | " + " | ".join("-" for _ in tokenizers) + " | - |")
                continue
            if drop and pooling != "embedding" and tower.grid % pooling == 0:
                continue
            if drop and pooling == "embedding":
                continue
            label = f"{pooling}" + (" (drop_remainder)" if drop else "")
            costs = " | ".join(str(span_cost(t, m)) for t in tokenizers.values())
            rows.append(f"| {label} | {m} | {costs} | {max_images(loaded, m)} |")
    return rows, tower


def main():
    torch.set_num_threads(1)
    loaded = load_model("default", device="cpu")
    tokenizers = {"SmolLM2": loaded.tokenizer, "char (tests)": build_char_tokenizer()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{TINY_VIT}.json"
        path.write_text(json.dumps(TINY_VIT_CONFIG))
        import open_clip

        open_clip.add_model_config(path)
        lines = []
        for name in ("ViT-B-16", TINY_VIT):
            rows, tower = table(name, tokenizers, loaded)
            lines += rows
        images = [np.random.default_rng(i).random((224, 224, 3)) for i in range(8)]
        for name in ("ViT-B-16",):
            image_features(images[:1], ImageEncoder(name, pooling=2))  # warm up
            start = time.perf_counter()
            image_features(images, ImageEncoder(name, pooling=2))
            lines.append(f"\n{name} (random weights), 1 CPU thread: {(time.perf_counter() - start) / len(images):.3f} s per image")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
