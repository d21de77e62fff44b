"""What each training step trains on: the run's token streams, and step s's global batch.

Step s of a run with seed k trains on one global batch of B examples, whatever the number of processes G
and micro-batches A (the training loop, ``replication.training.loop``, takes them as below):

* the B windows are drawn by one generator seeded with (k x 1_000_003 + s) x 64, and each example's
  prefix-dropout noise (a row of B x P uniform numbers) by another seeded with k x 1_000_003 + s;
* process r takes examples r B/G .. (r+1) B/G - 1 of that draw, in A micro-batches of B/(G A) in order;
* the gradient is the mean over the B examples (each micro-batch's loss over A, DDP's mean over G), and
  the logged loss is that mean too.

So an example and its dropout mask depend on (seed, step, position in the global batch) and on nothing
else: a G-process run sees exactly the batches of a 1-process run, and its loss curve equals it up to
the order of floating-point sums. Nothing random is saved in a checkpoint; it is all recomputed from
the step. With one process, micro-batches or not, these are the draws of the code that trained the
recorded runs (it drew the windows micro-batch after micro-batch from the same generator, and the noise
inside the forward pass from torch's default generator, reseeded with k x 1_000_003 + s each step), so a
recorded run retrained on the same CPU kernels repeats its metrics bit for bit.
"""
from __future__ import annotations

from pathlib import Path

import torch

from replication.corpus.streams import TokenData, load_data
from replication.errors import ReplicationError
from replication.training.config import TrainConfig


def load_token_data(cfg: TrainConfig, cache_dir: Path | None) -> TokenData:
    """The run's token streams, checked to hold at least one window of ``max_seq_len + 1`` tokens each."""
    data = load_data(cfg.corpus, cfg.tokenizer, cfg.val_fraction, split_seed=0, cache_dir=cache_dir)
    need = cfg.model.max_seq_len + 1
    for split, stream in (("train", data.train), ("validation", data.val)):
        if len(stream) < need + 1:
            raise ReplicationError(f"the {split} split of corpus={cfg.corpus!r} has {len(stream)} tokens; "
                                   f"max_seq_len={cfg.model.max_seq_len} needs at least {need + 1}")
    return data


def micro_batches(cfg: TrainConfig, world: int) -> tuple[int, int]:
    """(sequences per forward pass per process, forward passes per step) for ``world`` processes."""
    mb = cfg.micro_batch_size or max(1, cfg.batch_size // world)
    if cfg.batch_size % (mb * world):
        raise ReplicationError(f"batch_size={cfg.batch_size} must be a multiple of micro_batch_size={mb} "
                               f"x processes={world}")
    return mb, cfg.batch_size // (mb * world)


def global_batch(cfg: TrainConfig, data: TokenData, step: int):
    """Step ``step``'s global batch: windows x (B, P + n), next tokens y (B, n) and the prefix-dropout
    noise (B, P), or None when nothing is dropped. Every process draws all of it and takes its rows."""
    m = cfg.model
    seed = cfg.seed * 1_000_003 + step
    x, y = data.batch(cfg.batch_size, m.max_seq_len, m.num_latents, torch.Generator().manual_seed(seed * 64))
    noise = None
    if m.num_prefix and m.prefix_dropout > 0:
        noise = torch.rand(cfg.batch_size, m.num_prefix, generator=torch.Generator().manual_seed(seed))
    return x, y, noise
