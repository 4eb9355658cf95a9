"""Command line of the transfer benchmark of docs/results.md ("Transfer"):
the study's encoders fine-tuned for detection, segmentation and multi-label
classification on a generated VOCdevkit, with seeds; the stages and the
report live in projects/tscae_study/tscae_study/transfer.py. Run it from the
repository root: its paths are relative to the current directory.

    python tools/run_transfer.py --help
    python tools/run_transfer.py --stages data finetune report --seeds 0 1
    python tools/run_transfer.py --stages finetune --tasks detection \
        --encoders random_init mae --seeds 0
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.transfer import main  # noqa: E402

if __name__ == '__main__':
    main()
