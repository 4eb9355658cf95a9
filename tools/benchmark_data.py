"""Command line of tscae_mm/benchmark/data.py (its docstring says what it
measures, and how).

    python tools/benchmark_data.py --help
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.benchmark.data import main  # noqa: E402

if __name__ == '__main__':
    main()
