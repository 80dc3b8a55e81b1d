"""Fine-tuning: LoRA adapters trained on synthetic clustering episodes.

Needs only the base install (peft is a dependency). See :func:`finetune`; training on
the user's labelled texts is :func:`finetune_texts`; on images (:func:`finetune_images`)
it needs the ``[vision]`` extra.
"""

from .config import LoraSettings, TrainingSettings
from .examples import TrainingExample, training_example
from .image_training import finetune_images
from .text_training import TextEpisodes, finetune_texts
from .training import finetune

__all__ = [
    "LoraSettings",
    "TextEpisodes",
    "TrainingExample",
    "TrainingSettings",
    "finetune",
    "finetune_images",
    "finetune_texts",
    "training_example",
]
