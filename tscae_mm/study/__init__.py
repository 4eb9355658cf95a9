"""The CPU-sized study of docs/results.md: seeded comparison and reporting
(tools/run_study.py runs the trainings)."""
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
