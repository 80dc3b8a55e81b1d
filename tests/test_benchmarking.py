import csv
import json

import numpy as np

from sklearn_icc.benchmarking import episode_data, main, mean_and_standard_error


def test_episodes_are_seeded_and_shared_across_runs():
    X1, y1 = episode_data(1.5, 3, seed=0)
    X2, y2 = episode_data(1.5, 3, seed=0)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape[1] == 3 and 10 <= len(y1) <= 50
    assert set(y1.tolist()) == {0, 1, 2}
    assert not np.array_equal(X1, episode_data(1.5, 4, seed=0)[0])


def test_mean_and_standard_error():
    mean, se = mean_and_standard_error([1.0, 2.0, 3.0, None])
    assert mean == 2.0 and abs(se - 1 / np.sqrt(3)) < 1e-12


def test_quick_run_writes_tables_and_resumes(tiny_model, tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["--quick", "--model", tiny_model, "--out", str(out), "--methods", "kmeans", "icc-compact"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| KMeans | 1 | 5 |" in table and "| ICC compact | 5 | 5 |" in table
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 5  # methods x df x episodes
    summary = json.loads((out / "summary.json").read_text())
    assert {r["method"] for r in summary["summary"]} == {"kmeans", "icc-compact"}
    assert (out / "summary.md").exists()
    # A second run finds every row done and measures nothing again.
    assert main(args) == 0
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 20


def test_cli_passes_options_to_the_benchmark(tiny_model, tmp_path, capsys):
    from sklearn_icc.cli import main as cli_main

    out = tmp_path / "cli"
    assert cli_main(["bench", "--quick", "--methods", "kmeans", "--model", tiny_model, "--out", str(out)]) == 0
    assert "| KMeans | 5 | 5 |" in capsys.readouterr().out
