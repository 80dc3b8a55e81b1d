import csv
import json

import numpy as np
import pytest

from sklearn_icc.benchmarking import SUITES, episode_data, get_method, main, mean_and_standard_error
from sklearn_icc.benchmarking.methods import METHODS, MethodContext, resolve_methods
from sklearn_icc.benchmarking.report import summarize
from sklearn_icc.benchmarking.suites import cell_id, load_real_dataset


def test_table1_episodes_are_seeded_and_shared_across_runs():
    X1, y1 = episode_data(1.5, 3, seed=0)
    X2, y2 = episode_data(1.5, 3, seed=0)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape[1] == 3 and 10 <= len(y1) <= 50
    assert set(y1.tolist()) == {0, 1, 2}
    assert not np.array_equal(X1, episode_data(1.5, 4, seed=0)[0])
    # The paper-t suite draws exactly these episodes.
    episode = SUITES["paper-t"].draw({"df": 1.5}, 3, 0)
    np.testing.assert_array_equal(episode.X, X1)


@pytest.mark.parametrize("name", list(SUITES))
def test_suite_episodes_have_the_cells_shape_and_every_class(name):
    suite = SUITES[name]
    for cell in (suite.cells[0], suite.cells[-1]):
        for index in range(3):
            episode = suite.draw(cell, index, 0)
            n = len(episode.y)
            assert episode.X.shape[0] == n and 10 <= n <= 50
            assert episode.y.dtype == np.int64
            assert set(episode.y.tolist()) == set(range(episode.n_clusters))
            if "d" in cell:
                assert episode.X.shape[1] == cell["d"] and episode.n_clusters == cell["k"]
            if "dataset" in cell:
                assert episode.X.shape[1] == load_real_dataset(cell["dataset"])[0].shape[1]
            again = suite.draw(cell, index, 0)
            np.testing.assert_array_equal(episode.X, again.X)
            np.testing.assert_array_equal(episode.y, again.y)
            assert episode.random_state == again.random_state
        assert not np.array_equal(suite.draw(cell, 0, 0).X, suite.draw(cell, 0, 1).X)


def test_order_suite_runs_each_episode_under_five_row_orders():
    suite = SUITES["order"]
    episode = suite.draw(suite.cells[0], 0, 0)
    assert len(episode.orderings) == 5
    for order in episode.orderings:
        np.testing.assert_array_equal(np.sort(order), np.arange(len(episode.y)))
    assert len({tuple(order) for order in episode.orderings}) == 5


def test_real_data_sets_ship_with_scikit_learn():
    shapes = {name: load_real_dataset(name)[0].shape for name in ("iris", "wine", "breast_cancer", "digits")}
    assert shapes == {"iris": (150, 4), "wine": (178, 13), "breast_cancer": (569, 10), "digits": (1797, 10)}
    with pytest.raises(ValueError, match="Unknown data set"):
        load_real_dataset("mnist")


@pytest.mark.parametrize("name", [m.name for m in METHODS.values() if not m.uses_model])
def test_classical_methods_label_every_point(name):
    X, y = episode_data(5.0, 0)
    labels = get_method(name).build(3, 0, MethodContext()).fit_predict(X)
    assert labels.shape == y.shape
    if name != "hdbscan":  # HDBSCAN picks its own number of clusters
        assert set(np.unique(labels)) <= {0, 1, 2}


def test_registry_groups_and_layer_variants():
    names = [m.name for m in resolve_methods(["classical", "kmeans"], ())]
    assert names[0] == "kmeans" and len(names) == len(set(names)) and "chance" in names
    assert all(m.uses_model for m in resolve_methods(["llm"], ()))
    assert [m.name for m in resolve_methods(["default"], ("gmm", "birch"))] == ["gmm", "birch"]
    variant = get_method("asc-attention-L7")
    assert variant.build(2, 0, MethodContext(model="m")).get_params()["layer"] == 7
    with pytest.raises(ValueError, match="Unknown method"):
        get_method("kmeans++")


def test_mean_and_standard_error():
    mean, se = mean_and_standard_error([1.0, 2.0, 3.0, None])
    assert mean == 2.0 and abs(se - 1 / np.sqrt(3)) < 1e-12


def test_summary_averages_orders_within_an_episode():
    cell = {"df": 1.0}
    rows = [
        {"method": "kmeans", "cell": cell_id(cell), "episode": e, "ordering": o, "n": 10, "acc": acc, "ari": 0.0,
         "nmi": 0.0, "ami": 0.0, "seconds": 1.0, "prefill": None, "decode": None, "spectral": None,
         "n_prompt_tokens": None, "decoding_failures": None}
        for e, accs in enumerate([(0.5, 0.7), (0.9, 0.9)]) for o, acc in enumerate(accs)
    ]
    (record,) = summarize(rows, [get_method("kmeans")], [cell])
    assert record["episodes"] == 2 and record["acc"] == pytest.approx(0.75)
    assert record["acc_se"] == pytest.approx(0.15)  # SE over the two episode means, 0.6 and 0.9
    assert record["acc_sd_orderings"] == pytest.approx(np.std([0.5, 0.7], ddof=1) / 2)


def test_a_partition_is_scored_once_per_episode_whatever_its_label_names():
    from sklearn_icc.benchmarking.runner import _scores
    from sklearn_icc.metrics import clustering_scores

    rng = np.random.default_rng(3)
    y, labels = rng.integers(0, 3, 30), rng.integers(0, 3, 30)
    cache = {}
    assert _scores(y, labels, cache) == pytest.approx(clustering_scores(y, labels))
    renamed = np.array([2, 0, 1])[labels]
    assert _scores(y, renamed, cache) is _scores(y, labels, cache) and len(cache) == 1
    other = labels.copy()
    other[0] = (other[0] + 1) % 3
    assert _scores(y, other, cache) == pytest.approx(clustering_scores(y, other)) and len(cache) == 2


def test_results_written_twice_count_once(tmp_path):
    from sklearn_icc.benchmarking.runner import RESULT_COLUMNS, read_results

    path = tmp_path / "results.csv"
    row = "df=1,0,0,kmeans,20,3,0.9,0.8,0.7,0.6,0.01,,,,,\n"
    path.write_text(",".join(RESULT_COLUMNS) + "\n" + row + row.replace("0.9", "0.5"))
    (only,) = read_results(path)
    assert only["acc"] == 0.9 and only["episode"] == 0 and only["prefill"] is None


def test_quick_run_writes_tables_plots_and_resumes(tiny_model, tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["paper-t", "--quick", "--model", tiny_model, "--out", str(out),
            "--methods", "kmeans", "icc-compact", "asc-hidden-L1"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| KMeans | 1 | 3 |" in table and "| ICC compact format | 5 | 3 |" in table
    assert "| Attention SC, hidden, layer 1 | 100 | 3 |" not in table  # 100 is not a quick cell
    suite_dir = out / "paper-t"
    with open(suite_dir / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 2 * 3  # methods x df x episodes
    icc = [r for r in rows if r["method"] == "icc-compact"]
    assert all(float(r["prefill"]) > 0 and int(r["n_prompt_tokens"]) > 0 for r in icc)
    assert all(float(r["spectral"]) >= 0 for r in rows if r["method"] == "asc-hidden-L1")
    summary = json.loads((suite_dir / "summary.json").read_text())
    assert {r["method"] for r in summary["summary"]} == {"kmeans", "icc-compact", "asc-hidden-L1"}
    for name in ("summary.md", "summary.csv", "table.csv", "accuracy.csv", "accuracy.png", "time.png"):
        assert (suite_dir / name).stat().st_size > 0
    # A second run finds every row done and measures nothing again.
    assert main(args) == 0
    with open(suite_dir / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 18
    assert json.loads((suite_dir / "summary.json").read_text())["settings"]["fits_this_run"] == 0
    with pytest.raises(SystemExit, match="seed"):
        main(args + ["--seed", "1"])


def test_cli_runs_the_real_suite_through_a_scaler_and_a_registered_method(tiny_model, tmp_path, capsys, monkeypatch):
    from sklearn_icc.benchmarking import Method, register_method
    from sklearn_icc.cli import main as cli_main
    from sklearn_icc.cluster import AttentionSpectralClustering

    # A variant added from outside, as adapter variants will be; compact keeps the tiny model's prompts short.
    monkeypatch.setattr("sklearn_icc.benchmarking.methods.METHODS", dict(METHODS))
    register_method(Method("asc-compact", "ASC compact", "attention", lambda k, rs, ctx: AttentionSpectralClustering(
        k, model=ctx.model, layer=0, point_format="compact", random_state=rs, device=ctx.device)))
    out = tmp_path / "cli"
    argv = ["bench", "real", "--quick", "--methods", "kmeans", "chance", "asc-compact", "--model", tiny_model,
            "--out", str(out), "--no-plots"]
    assert cli_main(argv) == 0
    table = capsys.readouterr().out
    assert "| KMeans | iris | 3 |" in table and "| ASC compact | wine | 3 |" in table
    summary = json.loads((out / "real" / "summary.json").read_text())
    assert summary["settings"]["standardize"] is True
    kmeans_wine = next(r for r in summary["summary"] if r["method"] == "kmeans" and r["dataset"] == "wine")
    assert kmeans_wine["ari"] > 0.5  # standardised wine separates well


def test_a_plain_bench_is_sized_for_a_cpu_and_says_how_long_first(tmp_path, capsys):
    from sklearn_icc.benchmarking.command import CPU_EPISODES

    out = tmp_path / "plain"
    assert main(["paper-t", "--methods", "kmeans", "chance", "--out", str(out), "--no-plots"]) == 0
    err = capsys.readouterr().err
    n_fits = 7 * CPU_EPISODES * 2
    assert f"paper-t: 7 cells x {CPU_EPISODES} episodes, {n_fits} fits to run" in err
    assert "the full suite (--full, 100 episodes per cell) about" in err
    with open(out / "paper-t" / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == n_fits


def test_bench_size_flags():
    from sklearn_icc.benchmarking.command import CPU_EPISODES, build_parser, episodes_per_cell
    from sklearn_icc.benchmarking.suites import get_suite

    suite = get_suite("paper-t")

    def episodes(*argv):
        return episodes_per_cell(suite, build_parser().parse_args(["paper-t", *argv]))

    assert episodes() == CPU_EPISODES < suite.episodes
    assert episodes("--full") == suite.episodes
    assert episodes("--episodes", "7") == 7
    assert episodes("--quick") == suite.quick_episodes
    with pytest.raises(SystemExit):
        build_parser().parse_args(["paper-t", "--full", "--episodes", "3"])


def test_the_icc_methods_run_on_the_engine_given(tiny_model, tmp_path, capsys):
    from tests.runtime.engines.fake_server import FakeServer, chat_reply

    def answer(body):
        n = body["response_format"]["json_schema"]["schema"]["minItems"]
        return ("json", chat_reply(str([0, 1] * (n // 2) + [0] * (n % 2))))

    out = tmp_path / "bench"
    with FakeServer([answer]) as server:
        args = ["paper-t", "--quick", "--model", tiny_model, "--out", str(out), "--methods", "kmeans", "icc-compact",
                "--engine", server.url, "--no-plots"]
        assert main(args) == 0
        n_requests = len(server.bodies)
    with open(out / "paper-t" / "results.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "icc-compact"]
    assert len(rows) == 6 and n_requests >= 6  # a request per fit (and the warm-up): they ran on the endpoint
    assert all(float(r["decode"]) > 0 and r["prefill"] == "" for r in rows)
    summary = json.loads((out / "paper-t" / "summary.json").read_text())
    assert summary["settings"]["engine"] == server.url
