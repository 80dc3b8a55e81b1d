"""The benchmark: classical clusterers against In-Context Clustering on seeded suites of episodes.

``sklearn-icc bench <suite>`` (or ``python benchmarks/bench.py <suite>``) runs one suite;
``--help`` lists the options. The parts:

- :mod:`.suites`: the episodes of each suite (``paper-t``, ``paper-grid``, ``lognormal``,
  ``order``, ``attention``, ``real``), seeded so every method sees the same data;
- :mod:`.methods`: the one registry of methods (name -> factory);
- :mod:`.runner`: fitting and timing, one resumable row per fit in ``results.csv``;
- :mod:`.report` and :mod:`.plots`: tables (Markdown, CSV, JSON) and figures.
"""

from .command import build_parser, main
from .methods import METHODS, Method, MethodContext, get_method, register_method
from .report import mean_and_standard_error, summarize
from .suites import SUITES, Episode, Suite, episode_data, get_suite

__all__ = [
    "METHODS",
    "SUITES",
    "Episode",
    "Method",
    "MethodContext",
    "Suite",
    "build_parser",
    "episode_data",
    "get_method",
    "get_suite",
    "main",
    "mean_and_standard_error",
    "register_method",
    "summarize",
]
