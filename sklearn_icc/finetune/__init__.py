"""Fine-tuning: LoRA adapters trained on synthetic clustering episodes.

Needs only the base install (peft is a dependency). See :func:`finetune`; training on
the user's labelled texts is :func:`finetune_texts`; on images (:func:`finetune_images`)
it needs the ``[vision]`` extra. :func:`train_affinity` trains the affinity model that
:class:`~sklearn_icc.AttentionSpectralClustering` uses on numbers (a pairwise loss on
the first layers, no LoRA), and :func:`export_affinity_adapter` writes it as an
adapter folder.
"""

from .affinity_config import AffinitySettings
from .affinity_export import export_affinity_adapter
from .affinity_training import train_affinity
from .config import LoraSettings, TrainingSettings
from .examples import TrainingExample, training_example
from .image_training import finetune_images
from .text_training import TextEpisodes, finetune_texts
from .training import finetune

__all__ = [
    "AffinitySettings",
    "LoraSettings",
    "TextEpisodes",
    "TrainingExample",
    "TrainingSettings",
    "export_affinity_adapter",
    "finetune",
    "finetune_images",
    "finetune_texts",
    "train_affinity",
    "training_example",
]
