"""Labels of the in-process engine, for the vLLM tests (whose venv pins an older transformers).

Run by tests/runtime/engines/test_vllm.py with the main venv's python:
``python inprocess_reference.py episodes.npz out.json [adapter]``. Writes the labels and
label probabilities of ``in_context_clustering_many(X_list, 3)`` per episode (with the
LoRA adapter merged, when one is given), and the prompt token ids, so that the vLLM
tests can compare like with like. ``python inprocess_reference.py --make-adapter DIR``
writes a random LoRA adapter (peft) for the default model.
"""

import json
import sys

import numpy as np


def make_adapter(path):
    """A LoRA adapter of rank 8 on the attention projections, with random (not zero) weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from sklearn_icc.runtime.engines.vllm import model_folder

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_folder("default"), dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(path)


if __name__ == "__main__" and sys.argv[1] == "--make-adapter":
    make_adapter(sys.argv[2])
elif __name__ == "__main__":
    from sklearn_icc import in_context_clustering_many
    from sklearn_icc.runtime import build_prompt, load_model

    data = np.load(sys.argv[1])
    X_list = [data[f"X{i}"] for i in range(int(data["count"]))]
    adapter = sys.argv[3] if len(sys.argv) > 3 else None
    labels, probabilities = in_context_clustering_many(X_list, 3, point_format="compact", adapter=adapter)
    tokenizer = load_model("default").tokenizer
    prompts = [build_prompt(X, 3, tokenizer, point_format="compact").input_ids for X in X_list]
    with open(sys.argv[2], "w") as out:
        json.dump({"labels": [l.tolist() for l in labels], "probabilities": [p.tolist() for p in probabilities],
                   "prompt_ids": prompts}, out)
