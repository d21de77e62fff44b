"""The one exception type the CLI turns into a one-line error."""


class ReplicationError(ValueError):
    """Bad input or an impossible request. The message names the parameter and what is allowed."""


def check_range(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """Raise ReplicationError unless lo <= value <= hi (bounds open where asked). Returns value."""
    ok = True
    if lo is not None:
        ok &= value > lo if lo_open else value >= lo
    if hi is not None:
        ok &= value < hi if hi_open else value <= hi
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ReplicationError(f"{name}={value!r} is out of range; allowed: {rng}")
    return value
