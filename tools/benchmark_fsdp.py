"""Benchmark DDP against FSDP, each with and without activation
checkpointing, for TSCAE pre-training: per-rank memory and step time
(projects/tscae_study/tscae_study/speed/fsdp.py does the work; ``--help``
for the options). Run it from the repository root.

    python tools/benchmark_fsdp.py --arch base --batch 2 --iters 3 \
        --out docs/speed/fsdp_cpu.json
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Threads that wait for work sleep instead of spinning (as
# tools/benchmark_pretrain.py); set before any import of torch.
runpy.run_path(osp.join(REPO_ROOT, 'tscae_mm', 'utils',
                        'cpu_threads.py'))['set_openmp_env_defaults']()
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.speed.fsdp import main  # noqa: E402

if __name__ == '__main__':
    main()
