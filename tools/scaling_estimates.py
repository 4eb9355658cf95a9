"""The counts and estimates of docs/scaling.md: FLOPs, saved activations and
parameters per image of TSCAE pre-training (ViT-S/B/L; reference,
recommended, token-drop; with and without activation checkpointing),
counted on the meta device, and the days and GPU memory they imply
(tscae_mm/benchmark/scaling.py; ``--help`` for the assumptions).

    python tools/scaling_estimates.py --out docs/benchmarks/scaling_counts.json
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.benchmark.scaling import main  # noqa: E402

if __name__ == '__main__':
    main()
