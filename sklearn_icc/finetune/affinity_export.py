"""Turn a finished affinity run (:func:`~.affinity_training.train_affinity`) into an adapter folder.

The trained layers are stored as rank-``rank`` changes of the base model's layers
(:func:`~sklearn_icc.runtime.model.affinity_files.compress_layers`), so the folder is
small enough to ship in the package; the card (the run's settings, curve and time)
goes into its config and a README.
"""

from __future__ import annotations

import json
from pathlib import Path

from .affinity_training import CHECKPOINTS, FINAL_STATE, load_newest_checkpoint

DEFAULT_RANK = 112


def _run_state(run):
    """The trained state of the run folder: its final state, else its newest checkpoint."""
    import torch

    run = Path(run)
    if (run / FINAL_STATE).is_file():
        return torch.load(run / FINAL_STATE, map_location="cpu", weights_only=True)
    checkpoint = load_newest_checkpoint(run / CHECKPOINTS)
    if checkpoint is None:
        raise ValueError(f"{str(run)!r} holds no {FINAL_STATE} and no checkpoint that loads.")
    return checkpoint["model"]


def trained_affinity_model(run, model="default", spec=None):
    """``(affinity model, base layers' state, base description)`` of a run folder, on the CPU."""
    from ..runtime.model.adapters import model_fingerprint
    from ..runtime.model.affinity import AffinitySpec, build_affinity_model
    from ..runtime.model.loading import load_model_uncached

    run = Path(run)
    if spec is None:
        settings = json.loads((run / "run.json").read_text())["settings"] if (run / "run.json").is_file() else {}
        spec = AffinitySpec(**settings["spec"]) if "spec" in settings else AffinitySpec()
    loaded = load_model_uncached(model, device="cpu", dtype="float32")
    net = build_affinity_model(loaded.model, loaded.tokenizer, spec)
    base_layers = {name: tensor.clone() for name, tensor in net.state_dict().items() if name.startswith("layers.")}
    net.load_state_dict(_run_state(run), strict=False)
    base = {"name": loaded.name, "model": str(model), "fingerprint": model_fingerprint(loaded.model)}
    return net.eval(), base_layers, base


def export_affinity_adapter(run, out, *, rank=DEFAULT_RANK, model="default", card=None, n_views=None):
    """Write the adapter folder ``out`` from the run folder ``run``; returns its config.

    ``card`` (a dict: benchmark tables, notes) is stored beside the run's record.
    ``n_views`` (an int) sets the spec's test-time views
    (:mod:`~sklearn_icc.runtime.model.affinity_views`); ``None`` keeps the run's.
    """
    from dataclasses import replace

    from ..runtime.model.affinity_files import save_affinity_adapter

    net, base_layers, base = trained_affinity_model(run, model)
    if n_views is not None:
        net.spec = replace(net.spec, n_views=n_views)  # validated by the spec
    record = json.loads((Path(run) / "run.json").read_text()) if (Path(run) / "run.json").is_file() else {}
    return save_affinity_adapter(out, net, base_layers, base=base, rank=rank,
                                 card={"run": record, **(card or {})})
