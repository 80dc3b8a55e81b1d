"""Fine-tuning: LoRA adapters trained on synthetic clustering episodes.

Needs only the base install (peft is a dependency). See :func:`finetune`.
"""

from .config import LoraSettings, TrainingSettings
from .examples import TrainingExample, training_example
from .training import finetune

__all__ = ["LoraSettings", "TrainingExample", "TrainingSettings", "finetune", "training_example"]
