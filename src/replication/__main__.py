"""``python -m replication <command> ...`` is ``replication <command> ...`` (and what torchrun runs)."""
import sys

from replication.cli import main

sys.exit(main())
