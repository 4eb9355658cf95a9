"""Command line of projects/tscae_study/tscae_study/speed/data.py (its
docstring says what it measures, and how). Run it from the repository root.

    python tools/benchmark_data.py --help
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.speed.data import main  # noqa: E402

if __name__ == '__main__':
    main()
