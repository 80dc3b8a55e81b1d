import pytest

from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import LoraSettings, TrainingSettings


def test_defaults_are_the_papers():
    lora, training = LoraSettings(), TrainingSettings()
    assert (lora.r, lora.alpha, lora.dropout) == (64, 16.0, 0.05)
    assert lora.target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert (training.learning_rate, training.scheduler, training.batch_size) == (5e-4, "cosine", 32)
    assert training.gradient_accumulation_steps == 8
    assert training.n_steps == 3125  # 100k episodes / 32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"r": 0}, "r must be an integer >= 1"),
        ({"r": 2.5}, "r must be an integer >= 1"),
        ({"alpha": 0}, "alpha must be > 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"target_modules": "q_proj"}, "target_modules must be a non-empty tuple"),
        ({"target_modules": ()}, "target_modules must be a non-empty tuple"),
        ({"layers": (-1,)}, "layers must be None or non-negative"),
    ],
)
def test_lora_settings_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LoraSettings(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"learning_rate": -1e-4}, "learning_rate must be > 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"batch_size": 6, "micro_batch_size": 4}, "must be a multiple of micro_batch_size"),
        ({"max_steps": 0}, "max_steps must be None or an integer >= 1"),
        ({"scheduler": "step"}, "scheduler must be one of"),
        ({"point_format": "csv"}, "point_format must be one of"),
        ({"label_order": "sorted"}, "label_order must be one of"),
        ({"warmup_ratio": 1.0}, r"warmup_ratio must be in \[0, 1\)"),
        ({"eval_every": -1}, "eval_every must be an integer >= 0"),
        ({"time_limit_minutes": 0}, "time_limit_minutes must be None or > 0"),
    ],
)
def test_training_settings_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingSettings(**kwargs)


def test_max_steps_overrides_episodes():
    assert TrainingSettings(n_episodes=100, batch_size=8, micro_batch_size=4).n_steps == 13
    assert TrainingSettings(n_episodes=100, max_steps=3).n_steps == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dfs": (1.0, 1.5)}, r"held-out df values \[1.5\]"),
        ({"n_clusters": ()}, "n_clusters must be a non-empty tuple"),
        ({"n_samples": (10, 5)}, "must be a range"),
        ({"n_clusters": (2, 12), "n_samples": (10, 50)}, "exceeds the smallest n_samples"),
        ({"dist": "cauchy"}, "dist must be one of"),
        ({"n_permutations": 0}, "n_permutations must be >= 1"),
    ],
)
def test_episode_grid_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EpisodeGrid(**kwargs)


def test_held_out_df_allowed_when_asked():
    assert EpisodeGrid(dfs=(1.5,), allow_held_out=True).dfs == (1.5,)
