"""Command line of issue 22's screening: cheaper TSCAE variants against MAE
at equal wall-clock on the study's 5,000-image tier
(projects/tscae_study/tscae_study/efficiency.py does the work). Run it from
the repository root; the study's prepare stage makes the data.

    python tools/run_efficiency.py --stages cost --data-root data/cifar10
    python tools/run_efficiency.py --stages pretrain evaluate report \
        --budgets short --seeds 0 --data-root data/cifar10
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

from tscae_study.efficiency import main  # noqa: E402

if __name__ == '__main__':
    main()
