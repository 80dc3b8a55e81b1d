"""LoRA adapters at inference: find one, check it fits the base model, merge it in.

An adapter is a peft directory (``adapter_config.json`` + weights) written by
:func:`sklearn_icc.finetune.finetune`, with a card (``sklearn_icc_adapter.json``) that
names the base model and fingerprints it, and records the prompt settings it was
trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ADAPTER_CARD = "sklearn_icc_adapter.json"
# The config file of an affinity adapter (:mod:`.affinity_files`), which no language model loads.
AFFINITY_CONFIG = "affinity_adapter.json"
# Adapters shipped inside the package, by name.
SHIPPED_ADAPTERS_DIR = Path(__file__).resolve().parent.parent.parent / "adapters"
# The LoRA adapter shipped for the default model's conditioned reading of texts.
SHIPPED_READER_DIR = SHIPPED_ADAPTERS_DIR / "reader"
# The LoRA adapter shipped for the default model to name the clusters of that reading
# (benchmarks/reader_training/preregister_namer_2026-12-08.md).
SHIPPED_NAMER_DIR = SHIPPED_ADAPTERS_DIR / "namer"


def shipped_reader():
    """The folder of the conditioned-reading adapter shipped for the default model, or
    ``None`` when this installation has none."""
    return str(SHIPPED_READER_DIR) if (SHIPPED_READER_DIR / "adapter_config.json").is_file() else None


def shipped_namer():
    """The folder of the naming adapter shipped for the default model (its files are
    checked against its card when it loads), or ``None`` when this installation has none."""
    return str(SHIPPED_NAMER_DIR) if (SHIPPED_NAMER_DIR / "adapter_config.json").is_file() else None


def resolve_adapter(adapter):
    """Return the adapter directory as an absolute path string, or ``None``.

    ``"default"`` is the adapter shipped for the default model; anything else is a
    directory holding ``adapter_config.json``.
    """
    if adapter is None:
        return None
    if isinstance(adapter, str) and adapter == "default":
        path = SHIPPED_ADAPTERS_DIR / "default"
        if not (path / "adapter_config.json").is_file():
            raise ValueError(
                "This sklearn-icc installation ships no default adapter; pass adapter=None "
                "or the directory of an adapter made by sklearn_icc.finetune.finetune()."
            )
        return str(path)
    path = Path(adapter).expanduser()
    if (path / AFFINITY_CONFIG).is_file():
        raise ValueError(
            f"adapter={str(adapter)!r} is an affinity adapter (a point encoder, layers and a pairwise head "
            "for AttentionSpectralClustering on numbers), not a generation (LoRA) adapter: InContextClustering "
            "and the language model cannot load it. Pass it to AttentionSpectralClustering(adapter=...)."
        )
    if not (path / "adapter_config.json").is_file():
        raise ValueError(
            f"adapter={str(adapter)!r} is not an adapter directory: {path / 'adapter_config.json'} "
            "does not exist. Pass a directory written by sklearn_icc.finetune.finetune()."
        )
    return str(path.resolve())


def read_adapter_card(path):
    """The adapter's card as a dict (empty for a plain peft adapter without one)."""
    card = Path(path) / ADAPTER_CARD
    if not card.is_file():
        return {}
    return json.loads(card.read_text())


def model_fingerprint(model):
    """A short id of a base model's architecture and weights, equal across dtypes and devices.

    It hashes the config's shape facts and the signs of the first embedding rows, which
    casting to bfloat16 or moving to a GPU does not change.
    """
    import torch

    config = model.config
    facts = [getattr(config, name, None) for name in
             ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")]
    with torch.no_grad():
        rows = model.get_input_embeddings().weight[:8].detach().float().cpu()
    digest = hashlib.sha256(json.dumps(facts).encode() + (rows > 0).numpy().tobytes())
    return digest.hexdigest()[:16]


_verified = {}


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_adapter_files(path):
    """Raise ``ValueError`` when a file the adapter's card records (``"files"``: bytes and
    sha256 of each) is missing, truncated or changed. A card without a record (adapters
    made before it) checks nothing. Verified once per process while the files keep their
    sizes and modification times."""
    folder = Path(path)
    files = read_adapter_card(folder).get("files") or {}
    stamp = tuple((name, (folder / name).stat().st_size, (folder / name).stat().st_mtime_ns)
                  for name in sorted(files) if (folder / name).is_file())
    if _verified.get(str(folder.resolve())) == stamp:
        return
    for name, expected in files.items():
        file = folder / name
        if not file.is_file():
            raise ValueError(f"The adapter {str(folder)!r} is missing {name}, which its card records; "
                             "reinstall sklearn-icc for a shipped adapter, or train the adapter again.")
        if file.stat().st_size != expected.get("bytes") or _sha256(file) != expected.get("sha256"):
            raise ValueError(f"The adapter's {name} in {str(folder)!r} is truncated or changed: its size or "
                             "checksum differs from its card's record. Reinstall sklearn-icc for a shipped "
                             "adapter, or train the adapter again.")
    _verified[str(folder.resolve())] = stamp


def check_adapter_base(path, model, model_name):
    """Raise ``ValueError`` when the adapter at ``path`` was trained on another base model."""
    card = read_adapter_card(path)
    base = card.get("base_model", {})
    expected = base.get("fingerprint")
    if expected is not None and expected != model_fingerprint(model):
        raise ValueError(
            f"The adapter {str(path)!r} was trained for the base model {base.get('name')!r}, "
            f"not for {model_name!r}; load it with that model, or train one for this model "
            "with sklearn_icc.finetune.finetune()."
        )


def merge_adapter(model, path, model_name):
    """Apply the LoRA adapter at ``path`` to ``model`` and merge it into the weights."""
    from peft import PeftModel

    check_adapter_files(path)
    check_adapter_base(path, model, model_name)
    try:
        peft_model = PeftModel.from_pretrained(model, path)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ValueError(f"Could not apply the adapter {str(path)!r} to {model_name!r}: {exc}") from exc
    # Merged weights make inference exactly as fast as without an adapter.
    return peft_model.merge_and_unload()
