"""What verifying the converted-model cache costs when a model loads.

    python benchmarks/cache_check.py --repeats 5

Times, for the default model (converted first if needed), the two checks every load
runs: hashing the GGUF file for its cache key (xxh3-128 of 98 MB), and checking the
cache folder against its manifest (sizes, then xxh3-128 of every file: 542 MB), each
with the files in the page cache (a warm read first), then a whole ``load_model``.
Measured on 2 CPU cores shared with other jobs (load average 5; Dec 2026; ``python
benchmarks/cache_check.py --repeats 7``), medians: key 0.025-0.047 s, manifest check
0.145-0.201 s, so 0.17-0.25 s in all, of a whole ``load_model`` of 1.0-1.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.model import cache as model_cache
from sklearn_icc.runtime.model.sources import default_model_file


def seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gguf = default_model_file()
    folder = model_cache.converted_gguf_dir(gguf)  # converts once; warms the page cache

    def key():
        model_cache._content_keys.clear()  # the per-process memo would hide the cost
        model_cache.gguf_content_key(gguf)

    def load():
        clear_model_cache()
        load_model("default", device="cpu")

    load()
    rows = [
        ("GGUF content key", seconds(key, args.repeats)),
        ("manifest check", seconds(lambda: model_cache.check_cache(folder), args.repeats)),
        ("whole load_model", seconds(load, args.repeats)),
    ]
    print(f"{folder}\n{'step':<18} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, (median, low, high) in rows:
        print(f"{name:<18} {median:9.3f} {low:7.3f} {high:7.3f}")


if __name__ == "__main__":
    main()
