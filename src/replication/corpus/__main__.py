"""``python -m replication.corpus packages | build ROOT OUT``: what ``make corpus`` runs
(:func:`replication.corpus.debian.main`)."""
import sys

from replication.corpus.debian import main
from replication.errors import ReplicationError

try:
    sys.exit(main(sys.argv[1:]))
except ReplicationError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)
