"""Faults of the model itself, turned into clear errors instead of wrong answers.

Non-finite logits, hidden states or attentions would otherwise become all-zero labels
with NaN probabilities, or a zero affinity; a device out of memory would stop a fit
with a raw CUDA error. Both become errors that say what happened and what to change.
"""

from __future__ import annotations

from contextlib import contextmanager


class NonFiniteOutputError(FloatingPointError):
    """The model computed NaN or infinite values: its labels or affinities cannot be trusted."""


class DeviceOutOfMemoryError(MemoryError):
    """The device ran out of memory during a forward pass."""


def model_description(model):
    """How an error names the model: where it was loaded from."""
    config = getattr(model, "config", None)
    where = getattr(config, "_name_or_path", None) or getattr(config, "name_or_path", None)
    return f"{type(model).__name__} from {where}" if where else type(model).__name__


def check_finite(values, what, model):
    """Raise :class:`NonFiniteOutputError` if the tensor ``values`` holds NaN or inf.

    ``what`` names the values ("label logits", "hidden states of layer 3") and
    ``model`` the model that computed them.
    """
    import torch

    if bool(torch.isfinite(values).all()):
        return values
    dtype = getattr(model, "dtype", None)
    raise NonFiniteOutputError(
        f"The model ({model_description(model)}, {dtype}) computed non-finite {what} (NaN or inf); "
        "its output cannot be trusted, so no labels are returned. Likely causes: corrupt weights or "
        "a corrupt converted cache (load it again: a cached conversion is checked and rebuilt; "
        "otherwise replace the model files), or overflow in float16 (pass dtype='float32' or "
        "'bfloat16')."
    )


def finite_logits_processor(model):
    """A logits processor for ``generate`` that runs :func:`check_finite` on every step's logits."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class FiniteLogits(LogitsProcessor):
        def __call__(self, input_ids, scores):
            return check_finite(scores, "next-token logits", model)

    return LogitsProcessorList([FiniteLogits()])


@contextmanager
def out_of_memory_advice(model):
    """Turn a device out-of-memory error inside the block into :class:`DeviceOutOfMemoryError`."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as exc:  # torch.cuda.OutOfMemoryError is this class
        _release_cached_memory(torch)
        raise DeviceOutOfMemoryError(_advice(model, exc)) from exc
    except RuntimeError as exc:  # MPS and some backends raise a plain RuntimeError
        if "out of memory" not in str(exc).lower():
            raise
        _release_cached_memory(torch)
        raise DeviceOutOfMemoryError(_advice(model, exc)) from exc


def _advice(model, exc):
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"The device ran out of memory running the model ({model_description(model)}): {first_line}. "
        "Nothing was returned. Use less memory per forward pass: fewer points per prompt "
        "(chunk_size=..., or fewer points), a smaller batch_size, a smaller dtype ('bfloat16' or "
        "'float16' on a GPU), or device='cpu'."
    )


def _release_cached_memory(torch):
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
