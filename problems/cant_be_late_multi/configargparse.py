"""The names of `configargparse` that published strategies use as types, on the candidate's side.

The leaderboard's simulator parses its options with the configargparse package, and its
strategies write `import configargparse` to annotate `args: configargparse.Namespace`.
Here the options arrive already parsed, so these are the standard library's argparse
classes under that module name; evolve does not depend on the package.
"""

from argparse import Action, ArgumentParser, Namespace

ArgParser = ArgumentParser

__all__ = ["Action", "ArgParser", "ArgumentParser", "Namespace"]
