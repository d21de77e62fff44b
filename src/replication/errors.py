"""The one exception type the CLI turns into a one-line error, the validators that raise it, and the
command line's parser and float type that raise it too."""
import argparse
import math


class ReplicationError(ValueError):
    """Bad input or an impossible request. The message names the parameter and what is allowed."""


def check_range(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """Raise ReplicationError unless lo <= value <= hi (bounds open where asked; a missing bound is open,
    so that nan and inf are never in range). Returns value."""
    try:
        ok = -math.inf < value < math.inf
        if lo is not None:
            ok = ok and (value > lo if lo_open else value >= lo)
        if hi is not None:
            ok = ok and (value < hi if hi_open else value <= hi)
    except TypeError:  # not a number at all
        ok = False
    if not ok:
        raise ReplicationError(f"{name}={value!r} is out of range; allowed: {_range_text(lo, hi, lo_open, hi_open)}")
    return value


def _range_text(lo, hi, lo_open=False, hi_open=False) -> str:
    left = "(" if lo_open or lo is None else "["  # an unbounded side is open: inf is never allowed
    right = ")" if hi_open or hi is None else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def check_int(name: str, value, lo=None, hi=None) -> int:
    """Raise ReplicationError unless value is an integer in [lo, hi]. Returns it as an int.

    numpy integers pass; bools and whole floats do not (a silent 512.0 -> 512 hides bugs)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        bound = f" >= {lo}" if lo is not None else ""
        raise ReplicationError(f"{name}={value!r} must be an integer{bound}")
    return check_range(name, int(value.__index__()), lo, hi)


def check_choice(name: str, value, choices):
    """Raise ReplicationError unless value is one of ``choices``. Returns value."""
    if value not in choices:
        raise ReplicationError(f"{name}={value!r} is not known; choose one of: {', '.join(map(str, choices))}")
    return value


def check_number(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """Raise ReplicationError unless value is a finite real number (not a bool) within the bounds of
    :func:`check_range`. Returns value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        allowed = "" if lo is None and hi is None else f"; allowed: {_range_text(lo, hi, lo_open, hi_open)}"
        raise ReplicationError(f"{name}={value!r} must be a finite number{allowed}")
    return check_range(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def finite_float(text: str) -> float:
    """An argparse ``type``: a finite float. ``inf``, ``nan`` and ``1e400`` (which parses to inf) are
    refused alike, so that no option takes an infinite value; the option's own range is checked where
    the value is used."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: finite numbers")
    return value


class _Once:
    """An option action that refuses a second occurrence on one command line: argparse would keep the last
    value silently (``--data a.csv --data b.csv`` fits b.csv), and the user may believe the first applied."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = getattr(parser, "_options_seen", None)
        if seen is not None:  # None outside ArgumentParser.parse_known_args (a parser built another way)
            if self in seen:  # argparse's message names the option by all its strings (-p/--param)
                raise argparse.ArgumentError(self, "given more than once; allowed: once (a repeated option "
                                                   "would silently keep only its last value)")
            seen.add(self)
        super().__call__(parser, namespace, values, option_string)


# The actions that keep one value; "append", "append_const", "extend" and "count" mean to be repeated.
_ONCE = {name: type(f"{cls.__name__}Once", (_Once, cls), {}) for name, cls in (
    (None, argparse._StoreAction), ("store", argparse._StoreAction), ("store_const", argparse._StoreConstAction),
    ("store_true", argparse._StoreTrueAction), ("store_false", argparse._StoreFalseAction))}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad command line as a ReplicationError: one line naming the option, where
    argparse would print the whole usage above it and exit; and an option given twice is refused."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, cls in _ONCE.items():  # argument groups share this registry
            self.register("action", name, cls)

    def parse_known_args(self, args=None, namespace=None):
        self._options_seen = set()  # the actions given so far, for this parse only
        try:
            return super().parse_known_args(args, namespace)
        finally:
            self._options_seen = None

    def error(self, message):
        if message.endswith("expected one argument"):  # argparse reads -1e12 or -1,2 as an option
            message += " (write a value that starts with '-' as --option=VALUE)"
        raise ReplicationError(f"{message}; see {self.prog} --help")
