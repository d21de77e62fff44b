"""The ``replication train`` options: one per field of :class:`TrainConfig` and :class:`ModelConfig`.

The options, their types, defaults and help come from the dataclass fields (``replication.training.config``),
so that every field is settable and no default is written twice. :func:`arguments` is the inverse of
:func:`config_from_args`: the options that reproduce a config (the book prints the article's commands
with it).
"""
from __future__ import annotations

import argparse
import shlex
from dataclasses import MISSING, Field, fields

from replication.corpus.tokenizers import parse_tokenizer
from replication.errors import ArgumentParser, ReplicationError
from replication.training.config import ModelConfig, TrainConfig

#: A model's size is a choice, not a default.
REQUIRED = ("num_channels", "num_layers")
#: Exactly one of these is given.
STEPS_OR_BUDGET = ("steps", "budget_flops")

DESCRIPTION = ("Train a Perceiver AR model (or, with --prefix 0, a decoder-only transformer) into the run store, "
               "or return the recorded run if it exists. Prints the run directory and the final validation "
               "loss. The vocabulary size follows from --tokenizer. Several GPUs: "
               "torchrun --nproc_per_node=G -m replication train ...")


def _fields() -> list[Field]:
    """The fields with an option of their own, model first."""
    return [f for cls in (ModelConfig, TrainConfig) for f in fields(cls)
            if f.name != "model" and not f.metadata["derived"]]


def _option(f: Field) -> str:
    return "--" + (f.metadata["option"] or f.name.replace("_", "-"))


def _base_type(f: Field) -> str:
    return f.type.replace(" | None", "")


def _default(f: Field):
    return f.default_factory() if f.default is MISSING else f.default


DEFAULTS = {f.name: _default(f) for cls in (ModelConfig, TrainConfig) for f in fields(cls)}


def format_value(value) -> str:
    """A value as a command-line word: whole floats as integers, else the shortest of ``repr`` and a
    short scientific form (``2e-4``) that parses back to the same float."""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        best = repr(value)
        for digits in range(17):
            mantissa, _, exponent = f"{value:.{digits}e}".partition("e")
            short = f"{mantissa}e{int(exponent)}"
            if float(short) == value:
                return short if len(short) < len(best) else best
        return best
    return shlex.quote(str(value))


def _help(f: Field, required: bool = False) -> str:
    if required:
        tail = "required"
    elif f.name in STEPS_OR_BUDGET:
        tail = "one of " + " and ".join(_option(g) for g in _fields() if g.name in STEPS_OR_BUDGET) + " is required"
    elif f.metadata["shown_default"]:
        tail = f"default: {f.metadata['shown_default']}"
    elif _base_type(f) == "bool":
        tail = "default: " + ("on" if DEFAULTS[f.name] else "off")
    else:
        tail = f"default: {format_value(DEFAULTS[f.name])}"
    return f"{f.metadata['help']} ({tail})".replace("%", "%%")


def parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="replication train", description=DESCRIPTION)
    model = ap.add_argument_group("the model (ModelConfig)")
    training = ap.add_argument_group("the run (TrainConfig)")
    prefix_or_len = model.add_mutually_exclusive_group()
    steps_or_budget = training.add_mutually_exclusive_group(required=True)
    by_name = {f.name: f for f in fields(ModelConfig)}
    for f in _fields():
        group = model if f.name in by_name else training
        if f.name == "num_prefix":
            group = prefix_or_len
        elif f.name in STEPS_OR_BUDGET:
            group = steps_or_budget
        # absent unless given, so that every default comes from the dataclass
        kw = dict(dest=f.name, default=argparse.SUPPRESS, help=_help(f, f.name in REQUIRED))
        kind = _base_type(f)
        if kind == "bool":
            group.add_argument(_option(f), action="store_true", **kw)
        else:
            group.add_argument(_option(f), type={"int": int, "float": float, "str": str}[kind],
                               metavar=_option(f)[2:].upper().replace("-", "_"), required=f.name in REQUIRED,
                               **kw)
        if f.name == "num_prefix":
            prefix_or_len.add_argument("--max-seq-len", type=int, dest="max_seq_len", default=argparse.SUPPRESS,
                                       metavar="MAX_SEQ_LEN", help="P + n, instead of --prefix; must exceed "
                                       f"--latents (default: {DEFAULTS['num_prefix'] + DEFAULTS['num_latents']})")
    out = ap.add_argument_group("where and how")
    out.add_argument("--runs-dir", help="run store root (default: $REPLICATION_RUNS_DIR if set, else runs/ of the "
                                        "checkout)")
    out.add_argument("--retrain", action="store_true",
                     help="move what is recorded of this run (finished or not, and its checkpoint) to "
                          "RUNS_DIR/.trash/<id>-<time>/ and train it again from step 0 (default: return a finished "
                          "run, resume an unfinished one from its checkpoint)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar (default: a progress bar on "
                                                                "stderr)")
    out.add_argument("--json", action="store_true", help="print the summary as JSON (default: the run directory "
                                                         "and a one-line summary)")
    return ap


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    given = {k: v for k, v in vars(args).items() if k not in ("runs_dir", "retrain", "no_progress", "json")}
    model = {f.name: given.pop(f.name) for f in fields(ModelConfig) if f.name in given}
    max_seq_len = given.pop("max_seq_len", None)
    if max_seq_len is not None:
        latents = model.get("num_latents", DEFAULTS["num_latents"])
        if max_seq_len <= latents:
            raise ReplicationError(f"max_seq_len={max_seq_len} must be > latents={latents} "
                                   "(use --prefix 0 for a plain decoder)")
        model["num_prefix"] = max_seq_len - latents
    _, model["vocab_size"] = parse_tokenizer(given.get("tokenizer", DEFAULTS["tokenizer"]))
    return TrainConfig(model=ModelConfig(**model), **given)


def arguments(cfg: TrainConfig, always: tuple[str, ...] = ()) -> str:
    """The ``replication train`` options that reproduce ``cfg``.

    ``always`` names options (without the dashes; ``max-seq-len`` too, which a plain decoder writes as
    ``--prefix 0``) written first, in that order, even at their defaults. Every other option follows, in
    the parser's order, where its value is not the default (the model's width and depth and the steps or
    budget always).
    """
    values = {f.name: getattr(cfg.model, f.name) for f in fields(ModelConfig)}
    values.update({f.name: getattr(cfg, f.name) for f in fields(TrainConfig) if f.name != "model"})
    by_option = {_option(f)[2:]: f for f in _fields()}
    unknown = [o for o in always if o not in by_option and o != "max-seq-len"]
    if unknown:
        raise ReplicationError(f"unknown option(s) {', '.join(unknown)}; choose from: {', '.join(by_option)}, "
                               "max-seq-len")
    words, done = [], set()

    def add(option: str, value) -> None:
        if isinstance(value, bool):
            words.extend([f"--{option}"] if value else [])
        else:
            words.extend([f"--{option}", format_value(value)])

    for option in always:
        if option == "max-seq-len":
            if cfg.model.num_prefix:
                add(option, cfg.model.max_seq_len)
            else:  # a plain decoder has no --max-seq-len form (it must exceed --latents)
                add("prefix", 0)
            done.add("num_prefix")
            continue
        f = by_option[option]
        if values[f.name] is None:
            raise ReplicationError(f"--{option} is not set in this config")
        add(option, values[f.name])
        done.add(f.name)
    for f in _fields():
        value = values[f.name]
        if f.name in done or value is None:
            continue
        if f.name in REQUIRED or f.name in STEPS_OR_BUDGET or value != DEFAULTS[f.name]:
            add(_option(f)[2:], value)
    return " ".join(words)
