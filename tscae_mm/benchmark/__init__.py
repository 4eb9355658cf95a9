"""Benchmarks of the package (their command lines are in tools/)."""
