"""Fine-tuning: LoRA adapters trained on synthetic clustering episodes.

Needs only the base install (peft is a dependency). See :func:`finetune`; training on
images (:func:`finetune_images`) needs the ``[vision]`` extra.
"""

from .config import LoraSettings, TrainingSettings
from .examples import TrainingExample, training_example
from .image_training import finetune_images
from .training import finetune

__all__ = ["LoraSettings", "TrainingExample", "TrainingSettings", "finetune", "finetune_images", "training_example"]
