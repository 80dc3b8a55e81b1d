"""Resolve ``device="auto"`` and ``dtype="auto"`` into concrete torch values."""

from __future__ import annotations

DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")


def resolve_device(device="auto"):
    """Return the ``torch.device`` that ``device`` names.

    ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Parameters
    ----------
    device : str or torch.device, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a device.

    Returns
    -------
    torch.device
    """
    import torch

    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string or torch.device, got {type(device).__name__}.")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"Unknown device {device!r}: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here.")
    return resolved


def resolve_dtype(dtype, device):
    """Return the torch dtype for ``dtype`` on ``device``.

    ``"auto"`` means bfloat16 on a GPU and float32 on the CPU, where bfloat16
    matrix products are slow without native support.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {DTYPE_NAMES}, got {dtype!r}.")
    if dtype == "auto":
        return torch.bfloat16 if device.type in ("cuda", "mps") else torch.float32
    return getattr(torch, dtype)
