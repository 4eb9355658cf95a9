"""Benchmark the pre-training step of TSCAE (reference and token-drop) and
MAE on the same ViT, image size and batch: step time, FLOPs, memory
(projects/tscae_study/tscae_study/speed/pretrain.py does the work;
``--help`` for the options). Run it from the repository root.

    python tools/benchmark_pretrain.py --quick
    python tools/benchmark_pretrain.py --arch small --img-size 224 --batch 8 \
        --iters 10 --warmup 2 --out docs/speed/cpu_vit-small_224_b8.json
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Threads that wait for work sleep instead of spinning: a spinning OpenMP
# thread whose partner was descheduled slowed steps up to 50-fold on a shared
# 2-core machine. Read when torch loads OpenMP, so set before any import of
# torch; a value the caller set is kept (tscae_mm/utils/cpu_threads.py).
runpy.run_path(osp.join(REPO_ROOT, 'tscae_mm', 'utils',
                        'cpu_threads.py'))['set_openmp_env_defaults']()
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.speed.pretrain import main  # noqa: E402

if __name__ == '__main__':
    main()
