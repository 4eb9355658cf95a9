"""Time the training step of several pre-training configs side by side, in
one process, interleaved (projects/tscae_study/tscae_study/speed/
side_by_side.py does the work; ``--help`` for the options). The first config
is the reference of the cost ratios. Run it from the repository root.

    P=projects/tscae_study/configs
    python tools/benchmark_configs.py \
        mae=$P/mae_vit-tiny-d6-p4_6e_cifar10-5k.py \
        tscae=$P/tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py \
        --data-root data/cifar10 --threads 2 --iters 30
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# sleeping (not spinning) OpenMP threads, set before torch loads
runpy.run_path(osp.join(REPO_ROOT, 'tscae_mm', 'utils',
                        'cpu_threads.py'))['set_openmp_env_defaults']()
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.speed.side_by_side import main  # noqa: E402

if __name__ == '__main__':
    main(sys.argv[1:])
