"""Command line of the CPU-sized study of docs/results.md (TSCAE vs MAE vs a
random-init encoder on CIFAR-10): the stages, runs and report live in
tscae_mm/study/ (runner.py: what each stage does; runs.py: every run).

    python tools/run_study.py --help
    python tools/run_study.py --stages prepare \
        --archive ../shared/data/cifar10-jpg.tar.gz
    python tools/run_study.py --stages pretrain evaluate --runs mae --seeds 0 1
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.study.runner import main  # noqa: E402

if __name__ == '__main__':
    main()
