"""``replication flops``: training FLOPs and parameter counts of one model, or Chinchilla's Table A4."""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict

from replication.errors import ReplicationError, check_int
from replication.estimate.decoder import DECODER_ACCOUNTINGS, Decoder, table_a4
from replication.estimate.perceiver import ACCOUNTINGS, PerceiverARShape


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="replication flops",
        description=(
            "Training FLOPs and parameter counts. By default a Perceiver AR model (FLOPs per latent token, "
            "forward x 3) under the 'article' (v1, Jan 2023) or 'corrected' (Feb 2023) accounting; defaults "
            "are the article's Experiment 1 reference model. With --decoder-only, a decoder-only transformer "
            "under Chinchilla's Appendix F as written, the Table A4 variant, 6N and PaLM's 6N+12LHQT; with "
            "--table-a4, all of Chinchilla's Table A4 under those accountings."
        ),
    )
    ap.add_argument("--vocab-size", type=int, default=32000, help="V (default 32000)")
    ap.add_argument("--max-seq-len", type=int, default=2048,
                    help="prefix + latents; the sequence length with --decoder-only (default 2048)")
    ap.add_argument("--num-latents", type=int, default=512, help="n, latent tokens (default 512)")
    ap.add_argument("--channels", type=int, default=512, help="d, model channels / d_model (default 512)")
    ap.add_argument("--layers", type=int, default=9, help="L, attention layers incl. the hybrid one (default 9)")
    ap.add_argument("--heads", type=int, default=8, help="H, attention heads (default 8)")
    ap.add_argument("--prefix-dropout", type=float, default=0.5, help="p in [0, 1) (default 0.5)")
    ap.add_argument("--accounting", choices=ACCOUNTINGS, default="corrected",
                    help="Perceiver AR accounting (default corrected)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="count a decoder-only transformer (uses --channels, --layers, --heads, --ffw-size, "
                         "--kv-size, --vocab-size, --max-seq-len)")
    ap.add_argument("--ffw-size", type=int, default=None, help="MLP width f with --decoder-only (default 4d)")
    ap.add_argument("--kv-size", type=int, default=None, help="head size with --decoder-only (default d/H)")
    ap.add_argument("--table-a4", action="store_true", help="print Chinchilla's Table A4 recomputed")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
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
          "ffw_size": "--ffw-size", "kv_size": "--kv-size", "channels": "--channels", "heads": "--heads"}


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except ReplicationError as err:
        msg = re.sub(r"(?<![\w-])(\w+)=", lambda m: f"{_FLAGS.get(m[1], m[1])}=", str(err))
        raise ReplicationError(msg) from None


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.table_a4:
        df = table_a4(check_int("vocab_size", args.vocab_size, 1), check_int("max_seq_len", args.max_seq_len, 1))
        if args.json:
            print(df.to_json(orient="records"))
        else:
            print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        return 0
    if args.decoder_only:
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
