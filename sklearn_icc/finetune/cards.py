"""The adapter's card: what it was trained on, how long, and how well it did."""

from __future__ import annotations

import csv
import dataclasses
import io
import platform
from datetime import datetime, timezone

from .._version import __version__
from ..runtime.model.adapters import ADAPTER_CARD
from ..runtime.model.atomic import write_json_atomic, write_text_atomic

CURVE_FILE = "learning_curve.csv"


def run_card(*, base, lora, training, curve, losses, steps, seconds, device, **specific):
    """The card entries every training run writes, then the run's ``specific`` ones."""
    return {
        "format": 1,
        "sklearn_icc_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_model": base,
        "prompt": training.prompt,
        "label_order": training.label_order,
        **specific,
        "lora": lora.to_dict(),
        "training": training.to_dict(),
        "steps": int(steps),
        "episodes": int(steps) * training.batch_size,
        "train_seconds": round(float(seconds), 1),
        "device": device,
        "machine": platform.machine(),
        "learning_curve": curve,
        "final_train_loss": losses[-1]["loss"] if losses else None,
        "train_losses": [{"step": e["step"], "loss": e["loss"]} for e in losses],
    }


def write_adapter_card(out, *, base, grid, lora, training, curve, losses, steps, seconds, tokens, device,
                       resumed_from=None):
    """Write ``sklearn_icc_adapter.json``, ``learning_curve.csv`` and a README into ``out``."""
    card = run_card(
        base=base, lora=lora, training=training, curve=curve, losses=losses, steps=steps, seconds=seconds,
        device=device, point_format=training.point_format, grid=dataclasses.asdict(grid),
        train_tokens_this_run=int(tokens), tokens_per_second=round(tokens / seconds, 1) if seconds > 0 else None,
        resumed_from=resumed_from,
    )
    # Each file is whole or absent: a resumed run and load_model read them back.
    write_json_atomic(out / ADAPTER_CARD, card)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=["step", "episodes", "heldout_accuracy", "heldout_ari"],
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(curve)
    write_text_atomic(out / CURVE_FILE, table.getvalue())
    write_text_atomic(out / "README.md", _readme(card))
    return card


def _readme(card):
    last = card["learning_curve"][-1] if card["learning_curve"] else {}
    lines = [
        f"# sklearn-icc LoRA adapter for {card['base_model']['name']}",
        "",
        "Trained by `sklearn_icc.finetune.finetune()` with next-token-prediction loss on the "
        "answers of synthetic clustering episodes (the paper's Student-t mixtures).",
        "",
        "```python",
        "from sklearn_icc import InContextClustering",
        f"icc = InContextClustering(model={card['base_model']['model']!r}, n_clusters=3, adapter=PATH_OF_THIS_FOLDER,",
        f"                          prompt={card['prompt']!r}, point_format={card['point_format']!r})",
        "```",
        "",
        f"- steps: {card['steps']} (episodes: {card['episodes']}), {card['train_seconds']} s on {card['device']}",
        f"- LoRA: r={card['lora']['r']}, alpha={card['lora']['alpha']}, targets {card['lora']['target_modules']}",
        f"- episodes: k in {card['grid']['n_clusters']}, d in {card['grid']['n_features']}, "
        f"df in {card['grid']['dfs']}, n in {card['grid']['n_samples']}",
        f"- answers: {card['label_order']} labels; prompt {card['prompt']!r}, point format {card['point_format']!r}",
    ]
    if last:
        lines.append(
            f"- held-out df (1.25, 1.5, 1.75) at the last evaluation: accuracy {last['heldout_accuracy']:.3f}, "
            f"ARI {last['heldout_ari']:.3f}"
        )
    lines += ["", f"The full card is `{ADAPTER_CARD}`; the learning curve is `{CURVE_FILE}`.", ""]
    return "\n".join(lines)
