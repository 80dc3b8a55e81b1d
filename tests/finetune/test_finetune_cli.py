import json

import pytest

from sklearn_icc.cli import main
from sklearn_icc.runtime.model.adapters import ADAPTER_CARD

TINY_RUN = ["--steps", "2", "--batch-size", "2", "--micro-batch-size", "2", "--clusters", "2", "--features", "1",
            "--samples", "4,6", "--eval-every", "1", "--rank", "2", "--device", "cpu"]


def test_finetune_command_writes_an_adapter(tiny_model, tmp_path, capsys):
    out = tmp_path / "adapter"
    assert main(["finetune", "--out", str(out), "--model", tiny_model, *TINY_RUN]) == 0
    card = json.loads((out / ADAPTER_CARD).read_text())
    assert card["steps"] == 2 and card["lora"]["r"] == 2 and card["grid"]["n_samples"] == [4, 6]
    assert [entry["step"] for entry in card["learning_curve"]] == [0, 1, 2]
    assert "adapter written to" in capsys.readouterr().out
    # A user's mistake is one line on stderr, not a traceback.
    assert main(["finetune", "--out", str(out), "--model", tiny_model, *TINY_RUN]) == 1
    err = capsys.readouterr().err
    assert "exists and is not empty" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [(["--rank", "0"], "r must be an integer >= 1"), (["--lr", "0"], "learning_rate must be > 0"),
     (["--dfs", "1.5"], "held-out df values"),
     (["--point-format", "embedding", "--tokens-per-point", "0"], "tokens_per_point must be an integer >= 1")],
)
def test_finetune_command_rejects_bad_settings(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        main(["finetune", "--out", str(tmp_path / "x"), *args])
    assert message in capsys.readouterr().err


def test_finetune_help_shows_the_settings_defaults(capsys):
    from sklearn_icc.datasets import EpisodeGrid
    from sklearn_icc.finetune import LoraSettings, TrainingSettings

    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"--rank RANK LoRA rank r (default: {LoraSettings().r})" in text
    assert f"(default: {TrainingSettings().n_episodes})" in text
    assert "k values (default: " + ",".join(map(str, EpisodeGrid().n_clusters)) + ")" in text
    assert "--dfs DFS Student-t df values (default: 1,2,5,100)" in text


def test_finetune_rejects_a_malformed_list(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--out", str(tmp_path / "x"), "--clusters", "2,x"])
    assert "expected whole numbers separated by commas" in capsys.readouterr().err
