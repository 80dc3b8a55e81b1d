"""Typed settings of a fine-tuning run, checked when they are made (peft style)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..runtime.prompts.templates import DEFAULT_MAX_FEATURES, POINT_FORMATS, PROMPT_TEMPLATES

LABEL_ORDERS = ("canonical", "raw")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapter settings; the defaults are the paper's (§3).

    Parameters
    ----------
    r : int, default=64
        Rank of the update matrices.
    alpha : float, default=16
        Scaling numerator (the update is scaled by ``alpha / r``).
    dropout : float, default=0.05
    target_modules : tuple of str, default=("q_proj", "k_proj", "v_proj", "o_proj")
        Names of the linear layers that get adapters: the attention projections.
    layers : tuple of int or None, default=None
        Only these decoder layers get adapters; ``None`` means all of them.
    """

    r: int = 64
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: tuple = ("q_proj", "k_proj", "v_proj", "o_proj")
    layers: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.r, int) or self.r < 1:
            raise ValueError(f"LoraSettings.r must be an integer >= 1, got {self.r!r}.")
        if self.alpha <= 0:
            raise ValueError(f"LoraSettings.alpha must be > 0, got {self.alpha!r}.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LoraSettings.dropout must be in [0, 1), got {self.dropout!r}.")
        if isinstance(self.target_modules, str) or not self.target_modules:
            raise ValueError(f"LoraSettings.target_modules must be a non-empty tuple of names, got {self.target_modules!r}.")
        if self.layers is not None and (not self.layers or min(self.layers) < 0):
            raise ValueError(f"LoraSettings.layers must be None or non-negative layer indices, got {self.layers!r}.")

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class TrainingSettings:
    """How long and how fast to train, and what the training prompts look like.

    Parameters
    ----------
    n_episodes : int, default=100_000
        Training episodes (the paper's scale); ``max_steps`` overrides it.
    max_steps : int or None, default=None
        Optimizer steps; ``None`` means ``ceil(n_episodes / batch_size)``.
    batch_size : int, default=32
        Effective batch (episodes per optimizer step), as in the paper.
    micro_batch_size : int, default=4
        Episodes per forward pass; gradients accumulate over
        ``batch_size / micro_batch_size`` passes.
    learning_rate : float, default=5e-4
    scheduler : {"cosine", "linear", "constant", "constant_with_warmup"}, default="cosine"
    warmup_ratio : float, default=0.03
    eval_every : int, default=50
        Held-out accuracy every this many steps (and at the end); ``0`` turns it off.
    n_eval_episodes : int, default=24
        Held-out episodes per evaluation (df drawn from the held-out values).
    save_every : int, default=50
        A resumable checkpoint every this many steps.
    label_order : {"canonical", "raw"}, default="canonical"
        Answers in first-appearance order, as constrained decoding writes them, or
        the generator's raw cluster ids (the paper's choice).
    prompt : str, default="paper"
        The prompt template (see :data:`~sklearn_icc.runtime.PROMPT_TEMPLATES`).
    point_format : {"paper", "compact", "embedding"}, default="compact"
        ``"embedding"`` trains a point projector with the LoRA (see
        :mod:`~sklearn_icc.runtime.prompts.point_embeddings`).
    max_features : int, default=8
        ``point_format="embedding"`` only: the most features a point may have, in
        training and later at inference (the projector's input width).
    tokens_per_point : int, default=1
        ``point_format="embedding"`` only: input embeddings per point.
    gradient_checkpointing : bool, default=False
        Trade compute for memory; it slows a step by about a third.
    time_limit_minutes : float or None, default=None
        Stop (saving the adapter) after this much training time, whatever the step;
        the schedule still runs over ``n_steps``, so set ``max_steps`` to what fits.
    device : str, default="auto"
    dtype : str, default="auto"
        ``"auto"`` trains in bfloat16 on a GPU and float32 on a CPU.
    seed : int, default=0
        Seeds the episodes and the adapter's initialisation.
    """

    n_episodes: int = 100_000
    max_steps: int | None = None
    batch_size: int = 32
    micro_batch_size: int = 4
    learning_rate: float = 5e-4
    scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    eval_every: int = 50
    n_eval_episodes: int = 24
    save_every: int = 50
    label_order: str = "canonical"
    prompt: str = "paper"
    point_format: str = "compact"
    max_features: int = DEFAULT_MAX_FEATURES
    tokens_per_point: int = 1
    gradient_checkpointing: bool = False
    time_limit_minutes: float | None = None
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 0

    def __post_init__(self):
        positive = ("n_episodes", "batch_size", "micro_batch_size", "n_eval_episodes", "save_every", "max_features",
                    "tokens_per_point")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingSettings.{name} must be an integer >= 1, got {value!r}.")
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < 1):
            raise ValueError(f"TrainingSettings.max_steps must be None or an integer >= 1, got {self.max_steps!r}.")
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"TrainingSettings.batch_size={self.batch_size} must be a multiple of "
                f"micro_batch_size={self.micro_batch_size}."
            )
        if not self.learning_rate > 0:
            raise ValueError(f"TrainingSettings.learning_rate must be > 0, got {self.learning_rate!r}.")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"TrainingSettings.warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}.")
        if self.time_limit_minutes is not None and not self.time_limit_minutes > 0:
            raise ValueError(f"TrainingSettings.time_limit_minutes must be None or > 0, got {self.time_limit_minutes!r}.")
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"TrainingSettings.eval_every must be an integer >= 0, got {self.eval_every!r}.")
        choices = {
            "scheduler": SCHEDULERS,
            "label_order": LABEL_ORDERS,
            "prompt": tuple(PROMPT_TEMPLATES),
            "point_format": POINT_FORMATS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainingSettings.{name} must be one of {allowed}, got {getattr(self, name)!r}.")

    @property
    def gradient_accumulation_steps(self):
        return self.batch_size // self.micro_batch_size

    @property
    def n_steps(self):
        return self.max_steps or -(-self.n_episodes // self.batch_size)

    def to_dict(self):
        return asdict(self)
