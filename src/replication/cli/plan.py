"""``replication plan``: what to train, from a fitted L(N, D), for a budget, a target loss and expected traffic."""
from __future__ import annotations

import json
import math

from replication.errors import ArgumentParser, ReplicationError, finite_float
from replication.fit import planning
from replication.studies.planning import LAWS, load_law

#: What each question reports, in the order printed: key -> label.
LABELS = {"N": "parameters N", "D": "training tokens D", "tokens_per_param": "tokens per parameter D/N",
          "loss": "predicted loss", "train_flops": "training FLOPs 6ND", "inference_flops": "inference FLOPs 2NT",
          "total_flops": "total FLOPs"}


#: The range of each numeric question, option -> (lo, hi, unit). Each keeps the plan a physical model:
#: - compute: at 1e6 FLOPs the paper's compute-optimal model has ~300 parameters and a predicted loss of 128 nats
#:   (a uniform guess over a million tokens scores 14), so nothing smaller plans a language model; 1e35 is a
#:   billion times the largest training runs to date (~1e26), already nine decades beyond any fitted law.
#: - params, tokens: from a thousand (a model smaller than a byte vocabulary's embedding table of width 4)
#:   to 1e15 parameters (a thousand times the largest models) and 1e17 tokens (hundreds of times the stock
#:   of human-written text, ~3e14 tokens).
#: - inference tokens: 0 (training alone) to 1e20, a thousand years of serving 3e9 tokens a second.
#: - loss: cross-entropy in nats per token; it must also lie above the law's irreducible E (checked with the
#:   law). A uniform guess over 10^8 tokens scores ln 1e8 = 18.4, so no target above 20 is a language model's.
RANGES = {"compute": (1e6, 1e35, "FLOPs"), "loss": (None, 20.0, "nats per token, and above the law's E"),
          "params": (1e3, 1e15, "parameters"), "tokens": (1e3, 1e17, "training tokens"),
          "inference_tokens": (0.0, 1e20, "tokens served")}


def check_question(**values) -> None:
    """Refuse a question outside :data:`RANGES`, one line naming the option and its range (None: not asked)."""
    for name, v in values.items():
        if v is None:
            continue
        lo, hi, unit = RANGES[name]
        option = "--" + name.replace("_", "-")
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or (v <= 0 if lo is None else v < lo) or v > hi:
            allowed = f"(0, {hi:g}]" if lo is None else f"[{lo:g}, {hi:g}]"
            raise ReplicationError(f"{option}={v!r} is out of range; allowed: {allowed} {unit}")


def _scalar(v):
    v = float(v)
    return v if math.isfinite(v) else None


def answer(law: planning.Law, *, compute=None, loss=None, params=None, tokens=None, inference_tokens=None,
           ci=(10, 90)) -> dict:
    """The plan as plain values (what ``--json`` prints): the question, the law, the answer and, where the law
    has bootstrap samples, intervals of N, D and D/N."""
    check_question(compute=compute, loss=loss, params=params, tokens=tokens, inference_tokens=inference_tokens)
    if params is not None and tokens is not None:
        raise ReplicationError("give --params or --tokens, not both: with both fixed nothing is left to plan")
    p = law.params
    if loss is not None and not loss > p["E"]:
        raise ReplicationError(f"target loss {loss:g} is not above the irreducible loss E = {p['E']:.4g} of the law "
                               f"{law.name!r}; allowed: loss > E")
    T = inference_tokens
    if params is not None or tokens is not None:
        fixed, value = ("params", params) if params is not None else ("tokens", tokens)
        func = planning.with_params if params is not None else planning.with_tokens
        kw = {"loss": loss, "C": compute, "T": T}
        what = f"{fixed} fixed at {value:.4g}"
        args = (value,)
    elif compute is not None:
        if loss is not None or T is not None:
            raise ReplicationError("--compute plans training alone; give --loss with --inference-tokens instead")
        func, args, kw, what = planning.compute_optimal, (compute,), {}, f"compute-optimal at C = {compute:.4g} FLOPs"
    elif loss is not None:
        T = 0.0 if T is None else T
        func, args, kw = planning.inference_optimal, (loss, T), {}
        what = f"least lifetime FLOPs to reach loss {loss:g} with {T:.4g} inference tokens"
    else:
        raise ReplicationError("give --compute C, --loss L (with --inference-tokens T), --params N or --tokens D")
    res = func(p, *args, **kw)
    out = {"question": what, "law": law.name, "constants": {k: float(p[k]) for k in planning.KEYS}}
    out["answer"] = {k: _scalar(res[k]) for k in LABELS if k in res}
    if "chinchilla" in res:
        ref = res["chinchilla"]
        out["chinchilla_optimal_same_loss"] = {k: _scalar(ref[k]) for k in LABELS if k in ref}
        out["comparison"] = {k: _scalar(res[k]) for k in ("size_ratio", "token_ratio", "saved_flops", "saved_fraction")}
    out["extrapolation"] = law.extrapolates(float(res["N"]), float(res["D"]))
    out["interval"] = planning.plan_samples(law, func, *args, ci=ci, **kw)
    return out


def format_table(out: dict) -> str:
    lines = [f"{out['question']}", f"law: {out['law']}  (" + ", ".join(f"{k}={v:.5g}" for k, v in out["constants"].items()) + ")"]
    iv = out["interval"]
    ref = out.get("chinchilla_optimal_same_loss")
    head = f"  {'':<26} {'plan':>12}"
    if iv:
        lo, hi = iv["percentiles"]
        head += f" {f'{lo:g}th-{hi:g}th percentile':>28}"
    if ref:
        head += f" {'Chinchilla-optimal':>20}"
    lines.append(head)
    for k, label in LABELS.items():
        if k not in out["answer"] or out["answer"][k] is None:
            continue
        row = f"  {label:<26} {out['answer'][k]:>12.4g}"
        if iv:
            cell = f"[{iv[k][0]:.4g}, {iv[k][1]:.4g}]" if k in iv else ""
            row += f" {cell:>28}"
        if ref:
            row += f" {ref[k]:>20.4g}" if ref.get(k) is not None else ""
        lines.append(row)
    if ref:
        c = out["comparison"]
        lines.append(f"  against the Chinchilla-optimal model of the same loss: {c['size_ratio']:.3g}x the parameters, "
                     f"{c['token_ratio']:.3g}x the tokens, {c['saved_flops']:.4g} FLOPs saved "
                     f"({100 * c['saved_fraction']:.2f}% of its lifetime FLOPs)")
    if iv:
        lines.append(f"  interval over {iv['kept']} of {iv['samples']} bootstrap samples of the law's constants")
    if out["extrapolation"]:
        lines.append("  note: beyond the largest model or data the law was fitted to: an extrapolation")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = ArgumentParser(
        prog="replication plan",
        description="Plan a model from a fitted law L(N, D) = E + A/N^alpha + B/D^beta, counting 6ND training "
                    "and 2N FLOPs per inference token (Sardana & Frankle 2023).")
    p.add_argument("--law", default="paper", choices=tuple(LAWS),
                   help="; ".join(f"{k}: {v}" for k, v in LAWS.items()) + " (default paper)")
    p.add_argument("--data", help="a CSV of final losses (columns N, D or C, loss): plan with Approach 3 fitted to it")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="K",
                   help="figure4, study, --data: bootstrap resamples of the fit for intervals, 0 or 2 to 1,000,000 "
                        "(default 1000)")
    p.add_argument("--compute", type=finite_float, metavar="C",
                   help="FLOPs, in [1e6, 1e35]: the compute-optimal N, D and loss")
    p.add_argument("--loss", type=finite_float, metavar="L",
                   help="target loss in nats per token, above the law's E and at most 20")
    p.add_argument("--inference-tokens", type=finite_float, metavar="T",
                   help="lifetime inference tokens, in [0, 1e20] (with --loss, --params or --tokens)")
    p.add_argument("--params", type=finite_float, metavar="N", help="a fixed model size, in [1e3, 1e15] parameters")
    p.add_argument("--tokens", type=finite_float, metavar="D", help="a fixed number of training tokens, in [1e3, 1e17]")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    a = p.parse_args(argv)
    check_question(**{name: getattr(a, name) for name in RANGES})  # before any slow fit
    if a.data and a.law != "paper":
        raise ReplicationError("give --law or --data, not both")
    law = load_law(a.law, data=a.data, bootstrap=a.bootstrap)
    out = answer(law, compute=a.compute, loss=a.loss, params=a.params, tokens=a.tokens,
                 inference_tokens=a.inference_tokens)
    print(json.dumps(out, indent=2) if a.json else format_table(out))
    return 0
