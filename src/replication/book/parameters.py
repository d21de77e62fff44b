"""Chapter parameters: what a value may be, how it is written into the chapter, and params files.

A parameter's default (in the chapter's ``parameters`` cell) decides what may replace it: a value of its
type, or for a list, a list whose elements are of the kinds the default's elements are
(:func:`validate_parameters`). Only plain values pass: numbers, strings, bools, None and (nested) lists of
those. The injected cell is then written here (:func:`parameters_source`), not by papermill, whose
translation writes a value it does not know (a tuple, a set, bytes) as an unescaped string: a quote in it
would end the string and the rest would run. Params files are YAML, read by a loader that expands nothing
and reads nothing ambiguously (:func:`read_params_file`).
"""
from __future__ import annotations

import ast
import functools
import keyword
import math
import os
from pathlib import Path

from replication.errors import ReplicationError
from replication.files import read_input_text


#: The kinds of value a parameter may hold: these scalars, and (nested) lists of them. Nothing else (no
#: tuple, set, bytes, dict), because the injected cell is written by :func:`parameters_source`, which can
#: only write literals of these kinds.
SCALARS = (bool, int, float, str, type(None))
#: The shape of a parameter whose default is None or an empty list, or of the elements of an empty list:
#: any of the kinds above.
ANY = "any"


def _shape(default):
    """What may replace ``default``: its type; for a list, ``("list", shapes)`` where the default's own
    elements decide what the elements may be (all of its inner lists together decide theirs)."""
    if isinstance(default, (list, tuple)):
        return ("list", _element_shapes(default))
    return ANY if default is None else type(default)


def _element_shapes(items):
    if not items or any(x is None for x in items):
        return ANY
    shapes = {type(x) for x in items if not isinstance(x, (list, tuple))}
    inner = [x for x in items if isinstance(x, (list, tuple))]
    if inner:
        shapes.add(("list", _element_shapes([y for x in inner for y in x])))
    return frozenset(shapes)


def _describe(shape) -> str:
    """A shape in the words of the error messages: float, list of int, list of list of float or int."""
    if shape == ANY:
        return "a number, string, bool, None or list of those"
    if isinstance(shape, tuple):
        elements = shape[1]
        if elements == ANY:
            return "list (of numbers, strings, bools, None or lists of those)"
        return "list of " + " or ".join(sorted(_describe(e) for e in elements))
    return "float" if shape is float else shape.__name__


class _Refused(Exception):
    """A value, or an element of one at ``where``, that its shape does not allow."""

    def __init__(self, where: str, value, finite: bool = False):
        self.where, self.value, self.finite = where, value, finite


def _conform(value, shape, where: str):
    """``value`` as ``shape`` wants it (an int where a float is expected becomes one, a tuple a list), or
    :class:`_Refused`. Types are compared exactly: a subclass of str or int (whose repr could be anything)
    is no plain value."""
    if type(value) is float and not math.isfinite(value):
        raise _Refused(where, value, finite=True)
    if shape == ANY:
        if type(value) in SCALARS:
            return value
        if type(value) in (list, tuple):
            return [_conform(v, ANY, f"{where}[{i}]") for i, v in enumerate(value)]
        raise _Refused(where, value)
    if isinstance(shape, tuple):  # a list
        if type(value) not in (list, tuple):
            raise _Refused(where, value)
        return [_conform_element(v, shape[1], f"{where}[{i}]") for i, v in enumerate(value)]
    if shape is float and type(value) is int:
        return float(value)
    if type(value) is not shape:
        raise _Refused(where, value)
    return value


def _conform_element(value, shapes, where: str):
    if shapes == ANY:
        return _conform(value, ANY, where)
    exact = [s for s in shapes if s is type(value) or (isinstance(s, tuple) and type(value) in (list, tuple))]
    for shape in exact or shapes:  # an int in [1e7, 3e9, 20] stays an int; in [2.1, 2.0] it becomes a float
        try:
            return _conform(value, shape, where)
        except _Refused as refused:
            if refused.finite or len(exact or shapes) == 1:
                raise
    raise _Refused(where, value)


def _shown(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def validate_parameters(chapter: str, defaults: dict, given: dict) -> dict:
    """Check names and values of ``given`` against ``defaults``, element by element; return the values as
    the chapter gets them (ints where floats are expected become floats, tuples lists)."""
    checked = {}
    for name, value in given.items():
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            raise ReplicationError(f"{chapter}: unknown parameter {name!r}; parameters: {known}")
        default = defaults[name]
        if isinstance(value, str) and not isinstance(default, str) and default is not None:
            if value.strip().lstrip("+-").lower() in ("inf", "infinity", "nan"):
                raise ReplicationError(f"{chapter}: parameter {name!r} must be finite, got {value!r}")
            value = _parse_value(value)  # a YAML file's 1e20 or [1, 2] written as a string
        shape = _shape(default)
        try:
            checked[name] = _conform(value, shape, name)
        except _Refused as refused:
            at = "" if refused.where == name else f" at {refused.where}"
            if refused.finite:
                raise ReplicationError(f"{chapter}: parameter {name!r} must be finite, got "
                                       f"{_shown(refused.value)}{at}") from None
            raise ReplicationError(f"{chapter}: parameter {name!r} expects {_describe(shape)}, got "
                                   f"{_shown(refused.value)}{at}") from None
    return checked


def parameters_source(params: dict) -> str:
    """The injected cell: one ``name = literal`` line per parameter, written here and not by papermill
    (which writes a value it does not know, a tuple or a set, as an unescaped string: a quote in it ends
    the string and the rest runs). Each literal is checked to read back as exactly the value it writes."""
    lines = ["# Parameters"]
    for name, value in params.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ReplicationError(f"parameter {name!r} is not a Python name")
        source = _literal_source(value)
        if ast.literal_eval(source) != value:  # what is written is what was checked, or nothing runs
            raise ReplicationError(f"parameter {name!r}: {_shown(value)} does not read back as written")
        lines.append(f"{name} = {source}")
    return "\n".join(lines) + "\n"


def _literal_source(value) -> str:
    """A Python literal for a plain value: repr of a scalar (repr of a str escapes quotes and newlines),
    brackets around a list. Anything else is refused, whatever validated it."""
    if type(value) is float and not math.isfinite(value):
        raise ReplicationError(f"{value!r} is not a finite number")
    if type(value) in SCALARS:
        return repr(value)
    if type(value) is list:
        return "[" + ", ".join(_literal_source(v) for v in value) + "]"
    raise ReplicationError(f"{_shown(value)} is not a plain value; allowed: {_describe(ANY)}")


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_assignments(pairs: list[str]) -> dict:
    given = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ReplicationError(f"-p expects name=value, got {pair!r}")
        given[name.strip()] = _parse_value(value.strip())
    return given


# --- params files ---------------------------------------------------------------------------------

#: The most a params file may hold (it names a few values per chapter), and how deep its lists may nest.
PARAMS_MAX_BYTES = 64 * 1024
PARAMS_MAX_DEPTH = 32
#: What a params file's values may be, for its error messages.
PLAIN_YAML = "plain YAML values: numbers, quoted or plain strings, true/false, null and [lists] of those"


@functools.lru_cache(maxsize=1)
def _params_loader():
    """A SafeLoader for params files: YAML 1.2's core schema, and nothing that expands, hides a type or means
    two things.

    * No anchors or aliases: an alias bomb ("billion laughs") would expand a small file into billions of
      values, and no params file needs one. Nesting is bounded too (a deep ``[[[...]]]`` would exhaust the
      stack).
    * No tags (``!!binary``, ``!!set``, ``!!python/tuple``): a value is one of :data:`SCALARS` or a list.
    * Plain scalars are read as YAML 1.2 reads them (``1e20`` is a float, ``yes`` a string), and those that
      YAML 1.1 (PyYAML's default) reads otherwise are refused: ``010`` (octal 8 in 1.1, 10 in 1.2),
      ``yes``/``no``/``on``/``off`` (booleans in 1.1), ``1_000`` and ``1:30`` (numbers in 1.1).
    """
    import re

    import yaml

    class ParamsLoader(yaml.SafeLoader):
        yaml_implicit_resolvers: dict = {}  # none of SafeLoader's YAML 1.1 resolvers

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _YAMLRefused(event.start_mark, "anchors and aliases (&name, *name) are not allowed; "
                                   f"allowed: {PLAIN_YAML}")
            tag = getattr(event, "tag", None)
            if tag is not None:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise _YAMLRefused(event.start_mark, f"tag {shown} is not allowed; allowed: {PLAIN_YAML}")
            self._depth = getattr(self, "_depth", 0) + 1
            try:
                if self._depth > PARAMS_MAX_DEPTH:
                    raise _YAMLRefused(event.start_mark, f"values nest more than {PARAMS_MAX_DEPTH} deep; "
                                       f"allowed: at most {PARAMS_MAX_DEPTH}")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    resolvers = [  # the first that matches decides; "ambiguous" ones are refused where they are read
        (AMBIGUOUS, r"yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
                    r"|[-+]?0[0-9_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
                    r"|[-+]?(?=[0-9_.]*[0-9])(?=[0-9_.]*_)[0-9_.]+(?:[eE][-+]?[0-9]+)?"),
        ("tag:yaml.org,2002:null", r"~|null|Null|NULL|"),
        ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE"),
        ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
        ("tag:yaml.org,2002:float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN"),
    ]
    for tag, pattern in resolvers:
        ParamsLoader.add_implicit_resolver(tag, re.compile(f"^(?:{pattern})$"), None)
    return ParamsLoader


AMBIGUOUS = "tag:replication,2026:yaml-1.1-ambiguous"


class _YAMLRefused(Exception):
    def __init__(self, mark, message: str):
        self.line, self.message = (mark.line + 1 if mark is not None else None), message


def _yaml_value(node, where: str):
    """The plain Python value of a composed node: dicts with string keys (each once), lists, scalars."""
    import yaml

    at = f"{where} (line {node.start_mark.line + 1})" if where else f"line {node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key_at = f"line {key_node.start_mark.line + 1}"
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"):
                shown = repr(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "a list or mapping"
                raise ReplicationError(f"{where or 'the file'} ({key_at}): key {shown} is not a string; "
                                       f"allowed: names (a key such as 1 or null in quotes)")
            key = key_node.value
            if key in out:
                raise ReplicationError(f"{where or 'the file'} ({key_at}): key {key!r} appears more than once; "
                                       f"allowed: each name once")
            out[key] = _yaml_value(value_node, f"{where}.{key}" if where else key)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_yaml_value(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
    tag, text = node.tag, node.value
    if tag == AMBIGUOUS:  # the two readings, for the message: PyYAML's (1.1) and ours (1.2)
        allowed = "allowed: a decimal number without leading zeros or underscores, true/false, or a string in quotes"
        if len(text) > 40:  # too long to show, or to read (Python reads no int of over 4,300 digits)
            raise ReplicationError(f"{at}: {text[:20]}... is read differently by YAML 1.1 and 1.2; {allowed}")
        as_11 = yaml.safe_load(text)
        as_12 = int(text) if text.lstrip("+-").isdigit() else text
        raise ReplicationError(f"{at}: {text} is {as_11!r} in YAML 1.1 but {as_12!r} in YAML 1.2; {allowed}")
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        if len(text) > 100:  # Python refuses to read an int of over 4,300 digits; no parameter needs 100
            raise ReplicationError(f"{at}: an integer of {len(text):,} characters; allowed: at most 100")
        return int(text, 0) if text.startswith(("0o", "0x")) else int(text)
    if tag == "tag:yaml.org,2002:float":
        lowered = text.lower()  # .inf, -.Inf, .NaN: read here, refused as parameters (they must be finite)
        return float(lowered.replace(".", "") if lowered.endswith((".inf", ".nan")) else text)
    return text  # a quoted scalar, or a plain one that is no number, bool or null


def read_params_file(path: str | os.PathLike, option: str = "--params") -> dict[str, dict]:
    """``{chapter: {name: value}}`` from a params file (``option``: how the user named it, for the errors).

    The file is read as :func:`~replication.files.read_input_text` reads user files (a regular file of at
    most :data:`PARAMS_MAX_BYTES`; a FIFO or a device is refused, never opened blocking) and parsed by
    :func:`_params_loader`. Every error is one line naming the file, the entry and what is allowed. The
    chapters and their parameters are checked by the caller.
    """
    import yaml

    path = Path(path)
    text = read_input_text(path, option, PARAMS_MAX_BYTES)
    where = f"params file {path.name}"
    loader = _params_loader()(text)
    try:
        node = loader.get_single_node()
    except _YAMLRefused as err:
        raise ReplicationError(f"{where} (line {err.line}): {err.message}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ReplicationError(f"{where}: not valid YAML text{at}") from None
    finally:
        loader.dispose()
    if node is None:
        raise ReplicationError(f"{where} is empty; allowed: a mapping chapter -> {{name: value}}")
    try:
        data = _yaml_value(node, "")
    except ReplicationError as err:
        raise ReplicationError(f"{where}: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ReplicationError(f"{where}: expected a mapping chapter -> {{name: value}}")
    return data


def inject_parameters(nb, params: dict):
    """``nb`` with a cell setting ``params`` after its ``parameters`` cell, as papermill would place and tag it
    (``injected-parameters``, and the values in ``metadata.papermill.parameters``), but written by
    :func:`parameters_source`, which writes only literals. No parameters: ``nb`` as it is."""
    import nbformat

    if not params:
        return nb
    nb = nbformat.v4.upgrade(nb)
    cell = nbformat.v4.new_code_cell(source=parameters_source(params))
    cell.metadata["tags"] = ["injected-parameters"]
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    old = [i for i, t in enumerate(tags) if "injected-parameters" in t]
    if old:  # an executed notebook: its injected cell is replaced
        nb.cells[old[0]] = cell
    else:
        after = [i for i, t in enumerate(tags) if "parameters" in t]
        nb.cells.insert(after[0] + 1 if after else 0, cell)
    nb.metadata.setdefault("papermill", {})["parameters"] = params
    return nb
