"""The research harness beside tscae_mm (projects/tscae_study): the CPU-sized
study of docs/results.md (runs, stages, runner, report; its seeded
comparison is exported here), the transfer benchmark (transfer), the speed
and scaling benchmarks (speed/) and the mini-VOC generator (mini_voc).

It uses tscae_mm through its public subpackages; tscae_mm never uses it. Its
command lines are tools/run_study.py, run_transfer.py, benchmark_*.py,
scaling_estimates.py and make_mini_voc.py, run from the repository root.
"""
from .comparison import (
    METRICS,
    Setting,
    build_comparison,
    compare,
    comparison_table,
    degradation_drops,
    drop_table,
    drop_verdict,
    seed_of,
    summarise,
    verdict,
)

__all__ = [
    'METRICS', 'Setting', 'build_comparison', 'compare', 'comparison_table',
    'degradation_drops', 'drop_table', 'drop_verdict', 'seed_of', 'summarise',
    'verdict'
]
