"""The help formatter every ``sklearn-icc`` command shares (a module of its own, so that the
subcommands' parsers need not import the top-level CLI that dispatches to them)."""

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, except where there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS or "(default" in text:
            return text
        return super()._get_help_string(action)
