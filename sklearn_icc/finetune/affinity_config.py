"""Typed settings of an affinity training run (:func:`~.affinity_training.train_affinity`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..runtime.model.affinity import AffinitySpec

AFFINITY_SCHEDULERS = ("cosine", "constant")


@dataclass(frozen=True)
class AffinitySettings:
    """How the affinity model trains: its shape, the optimiser, the schedule, the budget.

    Parameters
    ----------
    spec : AffinitySpec, default=AffinitySpec()
        The model's shape (layers kept, encoder, head, prefix).
    n_episodes : int, default=16_000
        Training episodes; steps are ``ceil(n_episodes / batch_size)``.
    batch_size : int, default=8
        Episodes per optimiser step, padded to the longest.
    layer_learning_rate : float, default=1e-4
        Peak learning rate of the model's layers (all their weights train).
    new_learning_rate : float, default=1e-3
        Peak learning rate of the point encoder and the head.
    warmup_steps : int, default=100
    scheduler : {"cosine", "constant"}, default="cosine"
        After the warm-up: cosine decay to zero at the last step, or constant.
    weight_decay : float, default=0.01
    eval_every : int, default=250
        Held-out scores every this many steps (and at the start and the end); 0: never.
    n_eval_episodes : int, default=30
        Held-out episodes per df of the curve.
    eval_dfs : tuple of float, default=(1.0, 1.5, 5.0)
        The dfs of the curve's episodes (d=3, k=3, n 10-50; 1.5 is never trained on).
    save_every : int, default=250
        A resumable checkpoint every this many steps.
    random_layers : bool, default=False
        The control: the same architecture with freshly initialised layers.
    lora_rank : int or None, default=None
        Train a rank-``lora_rank`` LoRA change of each of the layers' linear maps
        (weights and norms frozen) instead of all their weights; the final state merges
        it (:mod:`~sklearn_icc.finetune.affinity_lora`).
    time_limit_minutes : float or None, default=None
        Stop (with a checkpoint) after this long, whatever the step; the schedule still
        runs over all the steps. Not reproducible: record the step it stopped at.
    stop_step : int or None, default=None
        Stop after this many steps, the schedule still spanning ``n_episodes``: the
        reproducible form of a run cut short by ``time_limit_minutes``.
    threads : int or None, default=None
        ``torch.set_num_threads`` for the run; ``None`` leaves it.
    seed : int, default=0
        Seeds the episodes and the new parts' initialisation.

    Examples
    --------
    >>> from sklearn_icc.finetune import AffinitySettings
    >>> settings = AffinitySettings(n_episodes=6000, stop_step=150)
    >>> settings.n_steps, settings.spec.n_layers
    (750, 9)
    """

    spec: AffinitySpec = field(default_factory=AffinitySpec)
    n_episodes: int = 16_000
    batch_size: int = 8
    layer_learning_rate: float = 1e-4
    new_learning_rate: float = 1e-3
    warmup_steps: int = 100
    scheduler: str = "cosine"
    weight_decay: float = 0.01
    eval_every: int = 250
    n_eval_episodes: int = 30
    eval_dfs: tuple = (1.0, 1.5, 5.0)
    save_every: int = 250
    random_layers: bool = False
    lora_rank: int | None = None
    time_limit_minutes: float | None = None
    stop_step: int | None = None
    threads: int | None = None
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.spec, AffinitySpec):
            raise TypeError(f"AffinitySettings.spec must be an AffinitySpec, got {type(self.spec).__name__}.")
        for name in ("n_episodes", "batch_size", "n_eval_episodes", "save_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AffinitySettings.{name} must be an integer >= 1, got {value!r}.")
        for name in ("warmup_steps", "eval_every", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"AffinitySettings.{name} must be an integer >= 0, got {value!r}.")
        for name in ("layer_learning_rate", "new_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"AffinitySettings.{name} must be > 0, got {getattr(self, name)!r}.")
        if not self.weight_decay >= 0:
            raise ValueError(f"AffinitySettings.weight_decay must be >= 0, got {self.weight_decay!r}.")
        if self.scheduler not in AFFINITY_SCHEDULERS:
            raise ValueError(f"AffinitySettings.scheduler must be one of {AFFINITY_SCHEDULERS}, got {self.scheduler!r}.")
        if not self.eval_dfs or min(self.eval_dfs) <= 0:
            raise ValueError(f"AffinitySettings.eval_dfs must be positive dfs, got {self.eval_dfs!r}.")
        if self.time_limit_minutes is not None and not self.time_limit_minutes > 0:
            raise ValueError(f"AffinitySettings.time_limit_minutes must be None or > 0, got {self.time_limit_minutes!r}.")
        if self.stop_step is not None and (not isinstance(self.stop_step, int) or self.stop_step < 1):
            raise ValueError(f"AffinitySettings.stop_step must be None or an integer >= 1, got {self.stop_step!r}.")
        if self.lora_rank is not None and (not isinstance(self.lora_rank, int) or isinstance(self.lora_rank, bool)
                                           or self.lora_rank < 1):
            raise ValueError(f"AffinitySettings.lora_rank must be None or an integer >= 1, got {self.lora_rank!r}.")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"AffinitySettings.threads must be None or an integer >= 1, got {self.threads!r}.")

    @property
    def n_steps(self):
        return -(-self.n_episodes // self.batch_size)

    def to_dict(self):
        return asdict(self)
