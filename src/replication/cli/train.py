"""``replication train``: train into the run store, or return the recorded run (options: training/options.py)."""
from __future__ import annotations

import json
import sys

from replication.store.runs import RunStore
from replication.training.options import config_from_args, parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    cfg = config_from_args(args)
    # torch: only once the options are known to be good (not for --help or a bad value)
    from replication.training.distributed import process_rank
    from replication.training.runner import get_or_train

    quiet = args.no_progress or args.json
    run = get_or_train(cfg, RunStore(args.runs_dir), progress=not quiet, log=lambda *a: print(*a, file=sys.stderr),
                       retrain=args.retrain)
    if process_rank() != 0:
        return 0
    if args.json:
        print(json.dumps({"run_dir": str(run.dir), **run.summary}))
    else:
        s = run.summary
        print(run.dir)
        print(f"final validation loss {s['final_val_loss']:.4f} after {s['steps']} steps, "
              f"{s['latent_tokens']:.3g} latent tokens, C_self={s['C_self']:.3g} FLOPs, "
              f"{s['epochs']:.2f} epochs, {s['wall_s']:.1f} s on {s['device']}")
    return 0
