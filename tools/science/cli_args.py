"""Argument types shared by the tools in tools/science: each refuses, before any work, what
would make it run out of memory or compute nonsense, with argparse's one-line error."""
import argparse


def bounded(kind, lo, hi):
    """An argparse type: a `kind` (int or float) number in [lo, hi], or a one-line error
    naming the range; nan and the infinities are outside every range."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if not lo <= value <= hi:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is outside [{lo}, {hi}]")
        return value
    return parse
