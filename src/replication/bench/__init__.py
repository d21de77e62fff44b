"""The benchmarks: ``replication bench fit`` (the Approach-3 grid fit), ``replication bench train`` (throughput
against peers), ``replication bench study`` (the CPU-scale study's shapes, variant against variant) and
``replication bench gpu``."""
