"""Command line of the CPU-sized study of docs/results.md (TSCAE vs MAE vs a
random-init encoder on CIFAR-10): the stages, runs and report live in
projects/tscae_study/tscae_study/ (runner.py: what each stage does; runs.py:
every run). Run it from the repository root: its paths are relative to the
current directory.

    python tools/run_study.py --help
    python tools/run_study.py --stages prepare \
        --archive ../shared/data/cifar10-jpg.tar.gz
    python tools/run_study.py --stages pretrain evaluate --runs mae --seeds 0 1
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.runner import main  # noqa: E402

if __name__ == '__main__':
    main()
