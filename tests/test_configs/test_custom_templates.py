"""The private-data templates (configs/benchmarks/custom/) as a user meets
them: copied into a client directory outside the checkout, edited only where
their EDIT lists say (encoder size, data_root, classes, checkpoint, the
schedule and image scale), pointed at a generated tiny data set and the CPU
demo's encoder written by tools/extract_backbone.py, then trained and tested
with the toolbox's own tools/train.py and tools/test.py (tscae_mm found only
as installed). A copy whose classes do not fit the annotations stops before
training, naming the classes the data hold."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tscae_mm.utils import config_scope

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

pytestmark = pytest.mark.slow

TEMPLATES = REPO_ROOT / 'configs' / 'benchmarks' / 'custom'


def toolbox_script(toolbox, name):
    module = __import__(toolbox)
    return osp.join(osp.dirname(module.__file__), '.mim', 'tools', name)


def image(size, seed):
    pixels = np.random.default_rng(seed).integers(0, 255, (*size[::-1], 3))
    return Image.fromarray(pixels.astype(np.uint8))


def make_folders(root):
    """Classification: train/ and val/ with one folder per class."""
    for split, count in (('train', 4), ('val', 2)):
        for c, name in enumerate(('bird', 'cat', 'dog')):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image((40, 40), c * 10 + i).save(folder / f'{i}.jpg')


def make_coco(root):
    """Detection: COCO json (categories bird, cat, dog) + 64 px images."""
    for split, count in (('train', 4), ('val', 2)):
        (root / 'images' / split).mkdir(parents=True)
        images, annotations = [], []
        for i in range(count):
            image((64, 64), i).save(root / 'images' / split / f'{i}.jpg')
            images.append(dict(id=i + 1, file_name=f'{i}.jpg', width=64,
                               height=64))
            for j, box in enumerate(([4, 4, 30, 24], [30, 28, 30, 32])):
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=i + 1,
                    category_id=(i + j) % 3 + 1, bbox=box,
                    area=box[2] * box[3], iscrowd=0))
        (root / 'annotations').mkdir(exist_ok=True)
        (root / 'annotations' / f'{split}.json').write_text(json.dumps(dict(
            images=images, annotations=annotations,
            categories=[dict(id=i + 1, name=name) for i, name in
                        enumerate(('bird', 'cat', 'dog'))])))


def make_segmentation(root):
    """Segmentation: 64 px images + label PNGs holding 0, 1, 2 and 255."""
    for split, count in (('train', 4), ('val', 2)):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'masks' / split).mkdir(parents=True)
        for i in range(count):
            image((64, 64), i).save(root / 'images' / split / f'{i}.jpg')
            mask = np.zeros((64, 64), np.uint8)
            mask[8:32, 8:32] = 1
            mask[36:60, 30:60] = 2
            mask[0, :] = 255
            Image.fromarray(mask).save(root / 'masks' / split / f'{i}.png')


# template -> (toolbox, data maker, classes of the data, the copy's
# schedule and scale edits, the metric its test prints)
CASES = {
    'tscae_vit-base-p16_ft_custom-folder.py':
    ('mmpretrain', make_folders, ('bird', 'cat', 'dog'),
     {'max_epochs = 50': 'max_epochs = 2'}, r'accuracy/top1: (\d+\.\d+)'),
    'tscae_vit-base-p16_faster-rcnn_fpn_custom-coco.py':
    ('mmdet', make_coco, ('bird', 'cat', 'dog'),
     {'max_epochs = 12': 'max_epochs = 1',
      'image_scale = (1000, 600)': 'image_scale = (64, 64)'},
     r'coco/bbox_mAP: (-?\d+\.\d+)'),
    'tscae_vit-base-p16_upernet_custom-seg.py':
    ('mmseg', make_segmentation, ('background', 'cat', 'dog'),
     {'max_iters = 40000': 'max_iters = 2',
      'image_scale = (2048, 512)': 'image_scale = (64, 64)'},
     r'mIoU: (\d+\.\d+)'),
}
# what the wrong class lists of the copies stop with
WRONG_CLASSES = {
    'mmpretrain': (('cat', 'dog'),
                   "Fix: set classes = ('bird', 'cat', 'dog')"),
    'mmdet': (('cat', 'fox'), "'fox' is not a category of"),
    'mmseg': (('background', 'cat'),
              'Values found in 4 of the 4 masks: 0, 1, 2, 255.'),
}


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    """The CPU demo's encoder (vit-tiny-p4), as tools/extract_backbone.py
    writes it (no prefix)."""
    from mmpretrain.registry import MODELS

    import tscae_mm  # noqa: F401
    folder = tmp_path_factory.mktemp('encoder')
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()),
               folder / 'tscae.pth')
    run_tool([REPO_ROOT / 'tools' / 'extract_backbone.py',
              folder / 'tscae.pth', folder / 'encoder.pth'])
    return folder / 'encoder.pth'


def edit(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def copy_template(name, client, data_root, classes, checkpoint, schedule):
    """The template in the client's configs/, with the EDIT list's edits."""
    text = (TEMPLATES / name).read_text()
    text = edit(text, "/_base_/encoders/vit-base-p16.py'",
                "/_base_/encoders/vit-tiny-p4.py'")
    text = re.sub(r"(?m)^data_root = .*$", f'data_root = {str(data_root)!r}',
                  text)
    text = re.sub(r'(?m)^classes = .*$', f'classes = {classes!r}', text)
    text = re.sub(r'(?m)^palette = .*$', 'palette = []', text)
    text = edit(text, 'encoder_checkpoint = None',
                f'encoder_checkpoint = {str(checkpoint)!r}')
    text = edit(text, "encoder_prefix = 'backbone.'", 'encoder_prefix = None')
    for old, new in schedule.items():
        text = edit(text, old, new)
    path = client / 'configs' / f'my_{name}'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def toolbox_env():
    return {config_scope.CONFIGS_ENV: config_scope.configs_dir(),
            'CUDA_VISIBLE_DEVICES': ''}


@pytest.mark.parametrize('name', sorted(CASES))
def test_a_copied_template_trains_and_tests_with_the_toolbox_scripts(
        name, encoder, tmp_path, monkeypatch):
    toolbox, make_data, classes, schedule, metric = CASES[name]
    data_root = tmp_path / 'data' / 'mine'
    make_data(data_root)
    client = tmp_path / 'my_project'
    config = copy_template(name, client, data_root, classes, encoder,
                           schedule)
    # the copy's own choices took effect: size, classes, its pipelines
    monkeypatch.setenv(config_scope.CONFIGS_ENV, config_scope.configs_dir())
    cfg = Config.fromfile(str(config))
    assert cfg.model.backbone.patch_size == 4
    assert cfg.train_dataloader.dataset.type.startswith('Checked')
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    if toolbox != 'mmpretrain':
        resize = next(t for t in cfg.train_dataloader.dataset.pipeline
                      if 'Resize' in t['type'])
        assert tuple(resize['scale']) == (64, 64)

    work_dir = client / 'work_dirs' / toolbox
    proc = run_tool([toolbox_script(toolbox, 'train.py'),
                     config.relative_to(client), '--work-dir', work_dir],
                    cwd=client, checkout_on_path=False, env=toolbox_env())
    log = proc.stdout + proc.stderr
    assert re.search(r'TSCAEViT: all \d+ encoder weights loaded', log), \
        log[-3000:]
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    proc = run_tool([toolbox_script(toolbox, 'test.py'),
                     config.relative_to(client), checkpoint,
                     '--work-dir', client / 'work_dirs' / 'test'],
                    cwd=client, checkout_on_path=False, env=toolbox_env())
    found = re.findall(metric, proc.stdout + proc.stderr)
    assert found, (proc.stdout + proc.stderr)[-3000:]
    if toolbox == 'mmpretrain':  # 3 classes: top-1 only
        assert 'accuracy/top5' not in proc.stdout + proc.stderr

    wrong, message = WRONG_CLASSES[toolbox]
    bad = config.with_name('bad_' + config.name)
    bad.write_text(re.sub(r'(?m)^classes = .*$', f'classes = {wrong!r}',
                          config.read_text()))
    env = dict(toolbox_env(), PYTHONPATH='')
    proc = subprocess.run(
        [sys.executable, toolbox_script(toolbox, 'train.py'),
         str(bad.relative_to(client)), '--work-dir', client / 'bad'],
        cwd=client, env={**__import__('os').environ, **env},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'ClassMismatchError' in proc.stderr, proc.stderr[-3000:]
    assert message in proc.stderr, proc.stderr[-3000:]
