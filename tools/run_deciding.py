"""Command line of the deciding tier (issue 24): TSCAE vs MAE on all 50,000
CIFAR-10 training images at equal same-condition wall-clock budgets, with
learning curves (projects/tscae_study/tscae_study/deciding.py does the work).
Run it from the repository root after the study's prepare stage.

    python tools/run_deciding.py --stages prepare pretrain curve evaluate \
        --methods mae --budgets 20 --seeds 0 --data-root data/cifar10 \
        --work-dir ../runs/deciding
    python tools/run_deciding.py --stages report --work-dir ../runs/deciding
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# sleeping (not spinning) OpenMP threads, set before torch loads
runpy.run_path(osp.join(REPO_ROOT, 'tscae_mm', 'utils',
                        'cpu_threads.py'))['set_openmp_env_defaults']()
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.deciding import main  # noqa: E402

if __name__ == '__main__':
    main()
