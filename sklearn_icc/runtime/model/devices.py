"""Resolve ``device="auto"`` and ``dtype="auto"`` into concrete torch values."""

from __future__ import annotations

import warnings

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


def cpu_has_native_bfloat16():
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX or AVX512-BF16),
    as torch and its oneDNN library see it.

    Without them a bfloat16 matrix product is emulated: on the machine of
    ``benchmarks/conditioned_speed.py --compare-dtype`` (AMX), a 2048 x 576 by 576 x 1536
    product ran at 1,348 GFLOP/s in bfloat16 against 222 in float32, and with oneDNN held
    to AVX-512 without BF16 (``ONEDNN_MAX_CPU_ISA=AVX512_CORE``) at 63, to AVX2 at 2.
    """
    import torch

    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(bool(check()) for check in checks if check is not None)


def warn_if_slow_dtype(dtype, device):
    """Warn when ``dtype`` is bfloat16 on a CPU that has no native bfloat16 matrix units,
    where it is many times slower than float32 (:func:`cpu_has_native_bfloat16`)."""
    import torch

    if dtype == torch.bfloat16 and device.type == "cpu" and not cpu_has_native_bfloat16():
        warnings.warn(
            "dtype='bfloat16' on a CPU without native bfloat16 matrix units (Intel AMX or AVX512-BF16): "
            "its matrix products are emulated here, many times slower than float32; use dtype='float32' "
            "(what dtype='auto' gives on a CPU).",
            UserWarning, stacklevel=4,
        )
