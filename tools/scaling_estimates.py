"""The counts and estimates of docs/scaling.md: FLOPs, saved activations and
parameters per image of TSCAE pre-training (ViT-S/B/L; reference,
recommended, token-drop; with and without activation checkpointing),
counted on the meta device, and the days and GPU memory they imply
(projects/tscae_study/tscae_study/speed/scaling.py; ``--help`` for the
assumptions). Run it from the repository root.

    python tools/scaling_estimates.py --out docs/speed/scaling_counts.json
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.speed.scaling import main  # noqa: E402

if __name__ == '__main__':
    main()
