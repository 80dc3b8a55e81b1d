"""The gallery's order: the first steps (a Pipeline, predict, a grid search), then the rest."""

import os

FIRST = ("plot_pipeline.py", "plot_predict_new_points.py", "plot_grid_search_layers.py",
         "plot_attention_heatmaps.py", "plot_conditions.py", "plot_bertopic.py")


class ExampleOrder:
    """sphinx-gallery's ``within_subsection_order``: listed files first, others after by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        return (FIRST.index(name), name) if name in FIRST else (len(FIRST), name)
