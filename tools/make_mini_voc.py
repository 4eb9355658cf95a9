"""Write a small Pascal VOC devkit (VOC2007 + VOC2012) from CIFAR-10 or your
own photos, with exact boxes and masks; the code is
tscae_mm/datasets/mini_voc.py (its docstring: layout, class map, sources).

    python tools/make_mini_voc.py data/VOCdevkit \
        --cifar-archive ../shared/data/cifar10-jpg.tar.gz
    python tools/make_mini_voc.py --help
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)

from tscae_mm.datasets.mini_voc import main  # noqa: E402

if __name__ == '__main__':
    main()
