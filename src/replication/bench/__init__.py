"""The benchmarks: ``replication bench fit`` (the Approach-3 grid fit) and ``replication bench train`` (throughput)."""
