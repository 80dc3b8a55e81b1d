import json

import pytest

from sklearn_icc.cli import main
from sklearn_icc.runtime.adapters import ADAPTER_CARD

TINY_RUN = ["--steps", "2", "--batch-size", "2", "--micro-batch-size", "2", "--clusters", "2", "--features", "1",
            "--samples", "4,6", "--eval-every", "1", "--rank", "2", "--device", "cpu"]


def test_finetune_command_writes_an_adapter(tiny_model, tmp_path, capsys):
    out = tmp_path / "adapter"
    assert main(["finetune", "--out", str(out), "--model", tiny_model, *TINY_RUN]) == 0
    card = json.loads((out / ADAPTER_CARD).read_text())
    assert card["steps"] == 2 and card["lora"]["r"] == 2 and card["grid"]["n_samples"] == [4, 6]
    assert [entry["step"] for entry in card["learning_curve"]] == [0, 1, 2]
    assert "adapter written to" in capsys.readouterr().out
    with pytest.raises(ValueError, match="exists and is not empty"):
        main(["finetune", "--out", str(out), "--model", tiny_model, *TINY_RUN])


@pytest.mark.parametrize(
    "args, message",
    [(["--rank", "0"], "r must be an integer >= 1"), (["--lr", "0"], "learning_rate must be > 0"),
     (["--dfs", "1.5"], "held-out df values")],
)
def test_finetune_command_rejects_bad_settings(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        main(["finetune", "--out", str(tmp_path / "x"), *args])
    assert message in capsys.readouterr().err
