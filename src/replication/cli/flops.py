"""``replication flops``: training FLOPs and parameter counts of one model, or Chinchilla's Table A4."""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict

from replication.errors import ArgumentParser, ReplicationError, check_int, finite_float
from replication.counting.decoder import DECODER_ACCOUNTINGS, Decoder, table_a4
from replication.counting.perceiver import ACCOUNTINGS, PerceiverARShape


#: Defaults of the options (the article's Experiment 1 reference model; d/H and 4d follow from the others).
DEFAULTS = {"vocab_size": 32000, "max_seq_len": 2048, "num_latents": 512, "channels": 512, "layers": 9, "heads": 8,
            "prefix_dropout": 0.5, "accounting": "corrected", "ffw_size": None, "kv_size": None}
#: The options each mode reads; one given to a mode that does not read it is an error, not ignored.
MODES = {
    "Perceiver AR": ("vocab_size", "max_seq_len", "num_latents", "channels", "layers", "heads", "prefix_dropout",
                     "accounting"),
    "--decoder-only": ("vocab_size", "max_seq_len", "channels", "layers", "heads", "ffw_size", "kv_size"),
    "--table-a4": ("vocab_size", "max_seq_len"),
}
#: The range of each integer option. Counts at these bounds are already far past any model built (vocabularies
#: reach ~256k tokens, contexts ~10M, widths ~25k, depths ~200, MLPs 4-8x the width, heads of 64-256 channels),
#: so a larger value is a typo; Python's integers would print its FLOPs, meaninglessly, to hundreds of digits.
LIMITS = {"vocab_size": (1, 10**7), "max_seq_len": (1, 10**8), "num_latents": (1, 10**8), "channels": (1, 10**6),
          "layers": (1, 10**4), "heads": (1, 10**6), "ffw_size": (1, 10**7), "kv_size": (1, 10**5)}


def _parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="replication flops", argument_default=argparse.SUPPRESS,
        description=(
            "Training FLOPs and parameter counts. By default a Perceiver AR model (FLOPs per latent token, "
            "forward x 3) under the 'article' (v1, Jan 2023) or 'corrected' (Feb 2023) accounting; defaults "
            "are the article's Experiment 1 reference model. With --decoder-only, a decoder-only transformer "
            "under Chinchilla's Appendix F as written, the Table A4 variant, 6N and PaLM's 6N+12LHQT; with "
            "--table-a4, all of Chinchilla's Table A4 under those accountings. An option that the chosen "
            "mode does not read is an error."
        ),
    )
    ap.add_argument("--vocab-size", type=int, help="V, in [1, 10^7] (default 32000)")
    ap.add_argument("--max-seq-len", type=int,
                    help="prefix + latents; the sequence length with --decoder-only; in [1, 10^8] (default 2048)")
    ap.add_argument("--num-latents", type=int, help="n, latent tokens, < --max-seq-len (default 512)")
    ap.add_argument("--channels", type=int, help="d, model channels / d_model, in [1, 10^6] (default 512)")
    ap.add_argument("--layers", type=int, help="L, attention layers incl. the hybrid one, in [1, 10^4] (default 9)")
    ap.add_argument("--heads", type=int, help="H, attention heads, dividing d (default 8)")
    ap.add_argument("--prefix-dropout", type=finite_float, help="p in [0, 1) (default 0.5)")
    ap.add_argument("--accounting", choices=ACCOUNTINGS, help="Perceiver AR accounting (default corrected)")
    ap.add_argument("--decoder-only", action="store_true", default=False,
                    help="count a decoder-only transformer (uses --channels, --layers, --heads, --ffw-size, "
                         "--kv-size, --vocab-size, --max-seq-len)")
    ap.add_argument("--ffw-size", type=int, help="MLP width f with --decoder-only, in [1, 10^7] (default 4d)")
    ap.add_argument("--kv-size", type=int, help="head size with --decoder-only, in [1, 10^5] (default d/H)")
    ap.add_argument("--table-a4", action="store_true", default=False,
                    help="print Chinchilla's Table A4 recomputed (uses --vocab-size, --max-seq-len)")
    ap.add_argument("--json", action="store_true", default=False, help="print one JSON object instead of text")
    return ap


def _print(record: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(record))
        return
    width = max(map(len, record))
    for key, value in record.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        print(f"{key:<{width}}  {value}")


#: Library parameter names -> the flags a CLI user typed, so errors name what the user can change.
_FLAGS = {"vocab_size": "--vocab-size", "max_seq_len": "--max-seq-len", "seq_len": "--max-seq-len",
          "num_latents": "--num-latents", "num_channels": "--channels", "d_model": "--channels",
          "num_layers": "--layers", "num_heads": "--heads", "prefix_dropout": "--prefix-dropout",
          "ffw_size": "--ffw-size", "kv_size": "--kv-size", "channels": "--channels", "heads": "--heads",
          "layers": "--layers", "accounting": "--accounting"}


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except ReplicationError as err:
        msg = re.sub(r"(?<![\w-])(\w+)=", lambda m: f"{_FLAGS.get(m[1], m[1])}=", str(err))
        raise ReplicationError(msg) from None


def _main(argv: list[str]) -> int:
    given = vars(_parser().parse_args(argv))
    table, decoder, as_json = given.pop("table_a4"), given.pop("decoder_only"), given.pop("json")
    if table and decoder:
        raise ReplicationError("--table-a4 and --decoder-only exclude each other; give one of them")
    mode = "--table-a4" if table else "--decoder-only" if decoder else "Perceiver AR"
    for name in given:
        if name not in MODES[mode]:
            readers = " and ".join(m for m, names in MODES.items() if name in names)
            raise ReplicationError(f"{_FLAGS.get(name, name)} does not apply to {mode}; it applies to {readers}")
    for name, (lo, hi) in LIMITS.items():
        if name in given:
            check_int(name, given[name], lo, hi)
    args = argparse.Namespace(**{**DEFAULTS, **given}, json=as_json)
    if table:
        df = table_a4(check_int("vocab_size", args.vocab_size, 1), check_int("max_seq_len", args.max_seq_len, 1))
        if args.json:
            print(df.to_json(orient="records"))
        else:
            print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        return 0
    if decoder:
        d, H = check_int("channels", args.channels, 1), check_int("heads", args.heads, 1)
        if args.kv_size is None and d % H:
            raise ReplicationError(f"channels={d} must be divisible by heads={H} (or give --kv-size)")
        m = Decoder(args.layers, d, args.ffw_size if args.ffw_size is not None else 4 * d, H,
                    args.kv_size if args.kv_size is not None else d // H, args.vocab_size, args.max_seq_len)
        record = {**asdict(m), "num_params": m.num_params, "num_matmul_params": m.num_matmul_params}
        for acc in DECODER_ACCOUNTINGS:
            record[f"flops_per_token_{acc}"] = m.flops(acc) // m.seq_len  # every term carries a factor s
        for acc in DECODER_ACCOUNTINGS:
            record[f"ratio_to_6n_{acc}"] = m.ratio_to_6nd(acc)
        _print(record, args.json)
        return 0
    if args.num_latents >= args.max_seq_len:
        raise ReplicationError(f"num_latents={args.num_latents} must be < max_seq_len={args.max_seq_len} "
                               "(Perceiver AR needs a prefix; use --decoder-only for a plain decoder)")
    m = PerceiverARShape(args.vocab_size, args.max_seq_len, args.num_latents, args.channels, args.layers,
                         args.heads)
    _print(m.summary(args.prefix_dropout, args.accounting), args.json)
    return 0
