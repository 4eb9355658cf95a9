"""Command line of the transfer benchmark of docs/results.md ("Transfer"):
the study's encoders fine-tuned for detection, segmentation and multi-label
classification on a generated VOCdevkit, with seeds; the stages and the
report live in tscae_mm/study/transfer.py.

    python tools/run_transfer.py --help
    python tools/run_transfer.py --stages data finetune report --seeds 0 1
    python tools/run_transfer.py --stages finetune --tasks detection \
        --encoders random_init mae --seeds 0
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.study.transfer import main  # noqa: E402

if __name__ == '__main__':
    main()
