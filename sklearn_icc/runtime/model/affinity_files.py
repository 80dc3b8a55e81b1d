"""An affinity adapter on disk: write it compressed, read it back verified.

The folder holds

- ``affinity_adapter.json``: the kind, the :class:`~.affinity.AffinitySpec`, the base
  model's fingerprint, the rank, and the size and SHA-256 of each weights file;
- ``affinity_head.safetensors``: the point encoder and the head, in float32;
- ``affinity_layers.safetensors``: the trained layers as changes to the base model's
  first layers: each weight matrix's change as a rank-``r`` product ``u @ v``
  (truncated SVD, float16), each norm's change whole (float32).

:func:`load_affinity_model` checks the files (present, whole, the right shapes,
finite) and the base model before it builds the model, and caches it per process.
"""

from __future__ import annotations

import json
from pathlib import Path
from threading import Lock

from .adapters import AFFINITY_CONFIG, _sha256

HEAD_FILE = "affinity_head.safetensors"
LAYERS_FILE = "affinity_layers.safetensors"
AFFINITY_KIND = "sklearn-icc-affinity"
FORMAT = 1
# The affinity adapter shipped inside the package for the default model.
SHIPPED_AFFINITY_DIR = Path(__file__).resolve().parent.parent.parent / "adapters" / "affinity"

_cache = {}
_lock = Lock()


def is_affinity_adapter(path):
    """Whether ``path`` is a folder holding an affinity adapter's config."""
    try:
        return path is not None and (Path(path).expanduser() / AFFINITY_CONFIG).is_file()
    except (TypeError, OSError):
        return False


def compress_layers(trained, base, rank):
    """``{name: tensor}`` of the changes of ``trained`` (layer state) from ``base``: ``name.u``,
    ``name.v`` (float16, rank ``rank``) for matrices, ``name.delta`` (float32) otherwise."""
    import torch

    out = {}
    for name, weight in trained.items():
        delta = weight.detach().float().cpu() - base[name].detach().float().cpu()
        if delta.ndim == 2:
            U, S, Vh = torch.linalg.svd(delta, full_matrices=False)
            r = min(rank, len(S))
            root = S[:r].sqrt()
            out[f"{name}.u"] = (U[:, :r] * root).to(torch.float16).contiguous()
            out[f"{name}.v"] = (root[:, None] * Vh[:r]).to(torch.float16).contiguous()
        else:
            out[f"{name}.delta"] = delta.contiguous()
    return out


def save_affinity_adapter(out, model, base_layers, *, base, rank, card=None):
    """Write ``model`` (an :class:`~.affinity.AffinityModel`) as an adapter folder ``out``.

    ``base_layers`` is the base model's state of the same first layers (``layers.<i>.…``
    names); ``base`` describes the base model (``name``, ``fingerprint``); ``card``
    (a dict) is stored in the config beside them.
    """
    from safetensors.torch import save_file

    from .atomic import write_json_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    layers = {name: tensor for name, tensor in state.items() if name.startswith("layers.")}
    head = {name: tensor.detach().float().contiguous().cpu() for name, tensor in state.items()
            if name.startswith(("encoder.", "head."))}
    compressed = compress_layers(layers, base_layers, rank)
    for name, tensors in ((HEAD_FILE, head), (LAYERS_FILE, compressed)):
        tmp = out / f"tmp-{name}"
        save_file(tensors, str(tmp), metadata={"kind": AFFINITY_KIND})
        tmp.replace(out / name)
    config = {"kind": AFFINITY_KIND, "format": FORMAT, "spec": model.spec.to_dict(), "base_model": base,
              "rank": int(rank), "hidden_size": int(model.prefix_embeddings.shape[1]),
              "files": {name: {"bytes": (out / name).stat().st_size, "sha256": _sha256(out / name)}
                        for name in (HEAD_FILE, LAYERS_FILE)},
              "card": card or {}}
    write_json_atomic(out / AFFINITY_CONFIG, config)
    return config


def read_affinity_config(path):
    """The adapter's config, after checking each weights file is there and whole.

    ``ValueError`` naming the problem: no config (a LoRA adapter, or no adapter), a
    config that is not JSON or not an affinity adapter's, a missing file, a file of the
    wrong size or checksum (truncated or changed).
    """
    folder = Path(path).expanduser()
    config_path = folder / AFFINITY_CONFIG
    if not config_path.is_file():
        kind = ("a generation (LoRA) adapter for InContextClustering" if (folder / "adapter_config.json").is_file()
                else "no adapter")
        raise ValueError(
            f"{str(folder)!r} is {kind}: it has no {AFFINITY_CONFIG}, so it holds no affinity head. "
            "Pass an affinity adapter (sklearn_icc.finetune.train_affinity, then export_affinity_adapter), "
            "'auto', or None."
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"The affinity adapter config {str(config_path)!r} is unreadable: {exc}") from exc
    if not isinstance(config, dict) or config.get("kind") != AFFINITY_KIND or config.get("format") != FORMAT:
        raise ValueError(f"{str(config_path)!r} is not an affinity adapter config of format {FORMAT}.")
    for name in (HEAD_FILE, LAYERS_FILE):
        file = folder / name
        expected = config.get("files", {}).get(name, {})
        if not file.is_file():
            raise ValueError(f"The affinity adapter {str(folder)!r} is missing {name}.")
        if file.stat().st_size != expected.get("bytes") or _sha256(file) != expected.get("sha256"):
            raise ValueError(
                f"The affinity adapter's {name} in {str(folder)!r} is truncated or changed: its size or "
                "checksum differs from the one its config records. Export the adapter again."
            )
    return config


_configs = {}


def verified_affinity_config(path):
    """:func:`read_affinity_config`, verified once per process while the files stay as they
    were (same sizes and modification times), so that a fit does not hash 20 MB each time."""
    folder = Path(path).expanduser().resolve()
    stamp = tuple((name, (folder / name).stat().st_size, (folder / name).stat().st_mtime_ns)
                  for name in (AFFINITY_CONFIG, HEAD_FILE, LAYERS_FILE) if (folder / name).is_file())
    with _lock:
        cached = _configs.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    config = read_affinity_config(folder)
    with _lock:
        _configs[folder] = (stamp, config)
    return config


def _load_tensors(path, name):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        raise ValueError(f"The affinity adapter's {name} does not load: {exc}") from exc
    for key, tensor in tensors.items():
        if not bool(tensor.float().isfinite().all()):
            raise ValueError(f"The affinity adapter's {name} holds non-finite values in {key!r}.")
    return tensors


def apply_adapter(model, folder, config):
    """Load the encoder, the head and the layers' changes of ``folder`` into ``model`` (in place),
    checking every name and shape first."""
    import torch

    folder = Path(folder)
    head = _load_tensors(folder / HEAD_FILE, HEAD_FILE)
    state = model.state_dict()
    expected = {name: tuple(t.shape) for name, t in state.items() if name.startswith(("encoder.", "head."))}
    got = {name: tuple(t.shape) for name, t in head.items()}
    if got != expected:
        wrong = sorted(set(expected.items()) ^ set(got.items()))[:4]
        raise ValueError(f"The affinity adapter's {HEAD_FILE} does not fit its spec (projector or head missing "
                         f"or of the wrong shape): {wrong}")
    layers = _load_tensors(folder / LAYERS_FILE, LAYERS_FILE)
    updates = {}
    for name, tensor in state.items():
        if not name.startswith("layers."):
            continue
        if tensor.ndim == 2:
            u, v = layers.get(f"{name}.u"), layers.get(f"{name}.v")
            if u is None or v is None or u.shape[0] != tensor.shape[0] or v.shape[1] != tensor.shape[1] \
                    or u.shape[1] != v.shape[0]:
                raise ValueError(f"The affinity adapter's {LAYERS_FILE} has no change of the right shape for {name}.")
            updates[name] = tensor + (u.float() @ v.float()).to(tensor.dtype)
        else:
            delta = layers.get(f"{name}.delta")
            if delta is None or tuple(delta.shape) != tuple(tensor.shape):
                raise ValueError(f"The affinity adapter's {LAYERS_FILE} has no change of the right shape for {name}.")
            updates[name] = tensor + delta.to(tensor.dtype)
    with torch.no_grad():
        model.load_state_dict({**{k: v.to(state[k].dtype) for k, v in head.items()}, **updates}, strict=False)
    return model


def load_affinity_model(adapter, loaded):
    """The :class:`~.affinity.AffinityModel` of the adapter folder ``adapter`` over the loaded
    base model ``loaded`` (a :class:`~.loading.LoadedModel`), in eval mode, cached per process.

    ``ValueError`` if the folder is not a whole affinity adapter or was trained for
    another base model.
    """
    from .adapters import model_fingerprint
    from .affinity import AffinitySpec, build_affinity_model

    folder = Path(adapter).expanduser().resolve()
    key = (str(folder), id(loaded.model))
    with _lock:
        if key in _cache:
            return _cache[key]
        config = read_affinity_config(folder)
        expected = config.get("base_model", {}).get("fingerprint")
        if expected is not None and expected != model_fingerprint(loaded.model):
            raise ValueError(
                f"The affinity adapter {str(folder)!r} was trained for the base model "
                f"{config['base_model'].get('name')!r}, not for {loaded.name!r}."
            )
        try:
            spec = AffinitySpec(**config["spec"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"The affinity adapter {str(folder)!r} has an invalid spec: {exc}") from exc
        model = build_affinity_model(loaded.model, loaded.tokenizer, spec)
        apply_adapter(model, folder, config)
        model.eval().requires_grad_(False)
        _cache.clear()  # one affinity model at a time: it holds a copy of the first layers
        _cache[key] = model
        return model
