"""Labels of the in-process engine, for the vLLM tests (whose venv pins an older transformers).

Run by tests/runtime/engines/test_vllm.py with the main venv's python:
``python inprocess_reference.py episodes.npz out.json``. Writes the labels and label
probabilities of ``InContextClustering(3).fit_predict_many`` per episode, and the
prompt token ids, so that the vLLM tests can compare like with like.
"""

import json
import sys

import numpy as np

if __name__ == "__main__":
    from sklearn_icc import in_context_clustering_many
    from sklearn_icc.runtime import build_prompt, load_model

    data = np.load(sys.argv[1])
    X_list = [data[f"X{i}"] for i in range(int(data["count"]))]
    labels, probabilities = in_context_clustering_many(X_list, 3, point_format="compact")
    tokenizer = load_model("default").tokenizer
    prompts = [build_prompt(X, 3, tokenizer, point_format="compact").input_ids for X in X_list]
    with open(sys.argv[2], "w") as out:
        json.dump({"labels": [l.tolist() for l in labels], "probabilities": [p.tolist() for p in probabilities],
                   "prompt_ids": prompts}, out)
