import csv
import json

from sklearn_icc.benchmarking import main
from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune


def test_bench_runs_adapter_methods_with_the_given_adapter(tiny_model, tmp_path, capsys):
    adapter = tmp_path / "adapter"
    finetune(tiny_model, adapter, grid=EpisodeGrid(n_clusters=(2,), n_features=(1,), n_samples=(4, 6)),
             lora=LoraSettings(r=2), training=TrainingSettings(max_steps=1, batch_size=2, micro_batch_size=2,
                                                               eval_every=0, device="cpu"), progress=False)
    out = tmp_path / "bench"
    args = ["paper-t", "--quick", "--model", tiny_model, "--out", str(out), "--adapter", str(adapter),
            "--methods", "icc-compact-adapter"]
    assert main(args) == 0
    assert "| ICC compact format, LoRA adapter |" in capsys.readouterr().out
    with open(out / "paper-t" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} == {"icc-compact-adapter"}
    settings = json.loads((out / "paper-t" / "summary.json").read_text())["settings"]
    assert settings["adapter"] == str(adapter)
