"""Write a small Pascal VOC devkit (VOC2007 + VOC2012) from CIFAR-10 or your
own photos, with exact boxes and masks; the code is
projects/tscae_study/tscae_study/mini_voc.py (its docstring: layout, class
map, sources).

    python tools/make_mini_voc.py data/VOCdevkit \
        --cifar-archive ../shared/data/cifar10-jpg.tar.gz
    python tools/make_mini_voc.py --help
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tscae_mm and the research harness (projects/tscae_study) of this checkout
for folder in (REPO_ROOT, osp.join(REPO_ROOT, 'projects', 'tscae_study')):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from tscae_study.mini_voc import main  # noqa: E402

if __name__ == '__main__':
    main()
