"""The trainable model and its trainer: configs, the PyTorch model, the training loop, devices and
DDP, and the runner that records runs in the run store (``replication.store``).

The configs import without torch (the command line builds its parser from them); the model and the runner
load on first use, so that importing a config does not pay for torch.
"""
import importlib

from replication.training.config import EXECUTION_FIELDS, MODEL_VERSION, ModelConfig, TrainConfig

_TORCH_NAMES = {
    "PerceiverAR": "replication.training.model",
    "get_or_train": "replication.training.runner",
}

__all__ = ["EXECUTION_FIELDS", "MODEL_VERSION", "ModelConfig", "TrainConfig", *_TORCH_NAMES]


def __getattr__(name):
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
