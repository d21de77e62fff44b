"""The papers' printed numbers, typed in by hand: the Chinchilla paper (:mod:`.chinchilla`) and Krasser's
Perceiver AR article (:mod:`.krasser`), and released models' sizes (:mod:`.models`). The targets the library reproduces; nothing here is computed."""
from replication.papers import chinchilla, krasser, models

__all__ = ["chinchilla", "krasser", "models"]
