"""Where training runs: the device and precision, and the processes of a ``torchrun`` (DDP) launch.

One process trains on the GPU if there is one (bf16 autocast, TF32) or on every CPU core (fp32).
Under ``torchrun --nproc_per_node=G`` each of the G processes holds a replica and trains on its share of
every global batch (NCCL between GPUs, gloo between CPU processes); gradients and the logged loss are
averaged over the processes, and rank 0 alone writes the run store. Which examples and random numbers
each process gets is the training loop's contract (``replication.training.loop``).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def process_rank() -> int:
    """This process's rank under torchrun (0 without it), known before any process group exists."""
    return int(os.environ.get("RANK", "0"))


@dataclass
class Env:
    device: str
    precision: str
    rank: int = 0
    world: int = 1
    ddp: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def autocast(self):
        """The forward pass's precision context (bf16 autocast also runs on a CPU, where the tests run it)."""
        if self.precision == "bf16-autocast":
            return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe_device(self) -> str:
        """``cpu``, ``cuda`` or, under DDP, ``<G>x<kind>``, as run summaries record it."""
        return self.device if self.world == 1 else f"{self.world}x{self.device.split(':')[0]}"


def setup_env() -> Env:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
        else:
            device = "cpu"
    else:
        rank, device = 0, "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        # bf16 needs no loss scaling; GPUs without it (pre-Ampere) train in fp32
        precision = "bf16-autocast" if torch.cuda.is_bf16_supported() else "fp32"
    else:
        # all cores, unless the user pinned a thread count (tiny models on a busy machine run
        # faster on one thread than on two that wait for each other)
        if "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        precision = "fp32"  # bf16 has no fast path on most CPUs (16x slower here)
    return Env(device, precision, rank, world, world > 1)


def wrap(model, env: Env):
    """The module the loop runs forward and backward through: ``model`` itself, or its DDP replica."""
    if not env.ddp:
        return model
    return DDP(model, device_ids=[torch.cuda.current_device()] if env.cuda else None)


def gradient_sync(net, env: Env, last_micro_batch: bool):
    """Under DDP, all-reduce gradients only after the last micro-batch of a step."""
    if not env.ddp or last_micro_batch:
        return contextlib.nullcontext()
    return net.no_sync()


def mean_over_processes(value: torch.Tensor, env: Env) -> torch.Tensor:
    """The mean of a scalar over the DDP processes (itself without DDP): the loss of the global batch."""
    if not env.ddp:
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / env.world


def shutdown(env: Env) -> None:
    if env.ddp:
        dist.destroy_process_group()
