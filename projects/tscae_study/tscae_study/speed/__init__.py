"""Speed and scaling benchmarks of TSCAE pre-training (their command lines
are tools/benchmark_*.py and tools/scaling_estimates.py; docs/speed.md)."""
