"""Command line of tscae_mm/benchmark/threads.py: the demo pre-training's
wall-clock with and without tscae_mm's CPU threading defaults, quiet and
beside busy processes (its docstring says how it measures).

    python tools/benchmark_cpu_threads.py \
        --out docs/benchmarks/cpu_threads_demo.json
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.benchmark.threads import main  # noqa: E402

if __name__ == '__main__':
    main()
