"""The benchmark configs under configs/benchmarks/ on the mini VOCdevkit.

Every config's model, shrunk to a tiny ViT, takes one training batch from the
config's own data pipeline (mini VOC or a custom data set made from it) and
back-propagates into the backbone. The three mini-VOC configs train a few
iterations from a tiny TSCAE checkpoint and evaluate, from tools/train.py and
from MMDetection's / MMSegmentation's own tools/train.py; client configs in a
folder of their own inherit them by path and train with mmpretrain's and
mmdet's own tools/train.py, and with ``mim train tscae_mm`` from a wheel.
Every test needs the mini VOCdevkit, which a subprocess writes: all slow.
"""
import copy
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

from tscae_mm.utils import config_scope

from conftest import REPO_ROOT, build_wheel, run_tool
from tiny_configs import TINY_ARCH, TINY_WIDTH, replace_width

pytestmark = pytest.mark.slow

BENCHMARKS = REPO_ROOT / 'configs' / 'benchmarks'
ALL_CONFIGS = sorted(
    str(path.relative_to(BENCHMARKS)) for path in BENCHMARKS.glob('*/*.py'))
MINI_CONFIGS = {
    'mmpretrain': 'mmpretrain/tscae_vit-tiny-p4_ft-1xb8-5e_mini-voc07.py',
    'mmdet':
    'mmdet/tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py',
    'mmseg': 'mmseg/tscae_vit-tiny-p4_upernet_1xb4-40i_mini-voc12aug.py',
}
VOC_METRIC_LINES = {
    'mmpretrain': r'multi-label/mAP: (\d+\.\d+)',
    'mmdet': r'pascal_voc/mAP: (\d+\.\d+)',
    'mmseg': r'mIoU: (\d+\.\d+)',
}
# Input sizes of the tiny runs, by transform type: (key, value).
SMALL_SIZES = {
    'Resize': ('scale', (96, 72)),
    'RandomResize': ('scale', (96, 72)),
    'RandomCrop': ('crop_size', (64, 64)),
    'Pad': ('size', (64, 64)),
    'RandomResizedCrop': ('scale', 32),
    'ResizeEdge': ('scale', 32),
    'CenterCrop': ('crop_size', 32),
}
SHIPPED_TRAIN = {
    toolbox: osp.join(
        osp.dirname(__import__(toolbox).__file__), '.mim', 'tools',
        'train.py')
    for toolbox in ('mmdet', 'mmseg', 'mmpretrain')
}


def make_custom_classification(devkit, root):
    """Class-per-folder crops of the mini VOC objects (train and val)."""
    for split, image_set in (('train', 'trainval'), ('val', 'test')):
        year_dir = devkit / 'VOC2007'
        for image_id in (year_dir / 'ImageSets' / 'Main' /
                         f'{image_set}.txt').read_text().split():
            image = Image.open(year_dir / 'JPEGImages' / f'{image_id}.jpg')
            for index, (name, box) in enumerate(voc_objects(
                    year_dir / 'Annotations' / f'{image_id}.xml')):
                folder = root / split / name
                folder.mkdir(parents=True, exist_ok=True)
                image.crop((box[0] - 1, box[1] - 1, box[2], box[3])).save(
                    folder / f'{image_id}_{index}.jpg')


def make_custom_coco(devkit, root):
    """COCO json of the mini VOC2007 boxes: trainval -> train, test -> val.
    """
    year_dir = devkit / 'VOC2007'
    names = ('aeroplane', 'bird', 'boat', 'car', 'cat', 'dog', 'horse')
    for split, image_set in (('train', 'trainval'), ('val', 'test')):
        images, annotations = [], []
        (root / 'images' / split).mkdir(parents=True)
        for image_id in (year_dir / 'ImageSets' / 'Main' /
                         f'{image_set}.txt').read_text().split():
            source = year_dir / 'JPEGImages' / f'{image_id}.jpg'
            shutil.copy(source, root / 'images' / split / source.name)
            width, height = Image.open(source).size
            images.append(dict(id=len(images) + 1, file_name=source.name,
                               width=width, height=height))
            for name, (xmin, ymin, xmax, ymax) in voc_objects(
                    year_dir / 'Annotations' / f'{image_id}.xml'):
                box = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=len(images),
                    category_id=names.index(name) + 1, bbox=box,
                    area=box[2] * box[3], iscrowd=0))
        (root / 'annotations').mkdir(exist_ok=True)
        (root / 'annotations' / f'{split}.json').write_text(json.dumps(dict(
            images=images, annotations=annotations,
            categories=[dict(id=i + 1, name=n) for i, n in enumerate(names)]
        )))


def make_custom_segmentation(devkit, root):
    """Images + label PNGs for the template's classes (background, cat,
    dog): other VOC objects become background."""
    year_dir = devkit / 'VOC2012'
    to_template = np.zeros(256, dtype=np.uint8)
    to_template[[8, 12, 255]] = [1, 2, 255]  # VOC cat=8, dog=12
    for split in ('train', 'val'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'masks' / split).mkdir(parents=True)
        for image_id in (year_dir / 'ImageSets' / 'Segmentation' /
                         f'{split}.txt').read_text().split():
            shutil.copy(year_dir / 'JPEGImages' / f'{image_id}.jpg',
                        root / 'images' / split)
            labels = np.asarray(Image.open(
                year_dir / 'SegmentationClass' / f'{image_id}.png'))
            Image.fromarray(to_template[labels]).save(
                root / 'masks' / split / f'{image_id}.png')


def voc_objects(xml_path):
    """[(name, (xmin, ymin, xmax, ymax))], 1-based VOC boxes."""
    root = ET.parse(xml_path).getroot()
    return [(obj.findtext('name'),
             tuple(int(obj.find('bndbox').findtext(key))
                   for key in ('xmin', 'ymin', 'xmax', 'ymax')))
            for obj in root.findall('object')]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory, cifar_archive):
    """A folder laid out as the configs expect: data/VOCdevkit and the
    custom data sets, plus a tiny TSCAE checkpoint."""
    root = tmp_path_factory.mktemp('downstream')
    devkit = root / 'data' / 'VOCdevkit'
    run_tool([
        REPO_ROOT / 'tools' / 'make_mini_voc.py', devkit, '--cifar-archive',
        cifar_archive, '--trainval', 8, '--test', 4
    ])
    # the transfer benchmark's configs read the same layout from here
    (root / 'data' / 'transfer-voc').mkdir()
    (root / 'data' / 'transfer-voc' / 'VOCdevkit').symlink_to(devkit)
    make_custom_classification(devkit, root / 'data' / 'my_classification')
    make_custom_coco(devkit, root / 'data' / 'my_coco')
    make_custom_segmentation(devkit, root / 'data' / 'my_segmentation')
    return root


@pytest.fixture(scope='module')
def tscae_checkpoint(workspace):
    """A tiny TSCAE model's checkpoint: encoder under ``backbone.``."""
    from mmpretrain.registry import MODELS

    import tscae_mm  # noqa: F401
    model = MODELS.build(
        dict(
            type='TSCAE',
            backbone=dict(
                type='TSCAEViT',
                arch=TINY_ARCH,
                img_size=32,
                patch_size=8,
                masked_pretraining=True),
            neck=dict(
                type='TSCAETeacherDecoder',
                patch_resolution=4,
                in_channels=TINY_WIDTH,
                embed_dims=TINY_WIDTH,
                num_layers=1,
                num_heads=2),
            head=dict(
                type='TSCAEPixelHead', in_channels=TINY_WIDTH, patch_size=8),
            contrast_head=dict(
                type='TSCAETokenContrastHead', embed_dims=TINY_WIDTH),
            global_head=dict(type='TSCAEGlobalConsistencyHead')))
    model.init_weights()
    path = workspace / 'work_dirs' / 'tscae_tiny.pth'
    path.parent.mkdir()
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.state_dict()


def shrink_inputs(node):
    """Make every image-size argument of the pipelines small (in place)."""
    if isinstance(node, dict):
        if node.get('type') in SMALL_SIZES:
            key, value = SMALL_SIZES[node['type']]
            node[key] = value
        for child in node.values():
            shrink_inputs(child)
    elif isinstance(node, list):
        for child in node:
            shrink_inputs(child)


def tiny_config(relative_path, checkpoint=None):
    """The config with a 4-layer, 32-wide, patch-8 ViT and small inputs.

    Args:
        relative_path (str): Config path under configs/benchmarks/.
        checkpoint (Path, optional): Pre-trained TSCAE checkpoint; None
            drops the backbone's init_cfg.
    """
    cfg = Config.fromfile(BENCHMARKS / relative_path)
    backbone = cfg.model.backbone
    width = (backbone.arch['embed_dims']
             if isinstance(backbone.arch, dict) else 768)
    replace_width(cfg.model, width)
    backbone.arch = TINY_ARCH
    backbone.img_size = 32
    backbone.patch_size = 8
    if backbone.out_type == 'featmap':
        backbone.out_indices = (0, 1, 2, 3)
        backbone.feature_pyramid.embed_dims = TINY_WIDTH
        backbone.feature_pyramid.scales = (2, 1, 0.5, 0.25)
    if backbone.get('frozen_stages'):
        backbone.frozen_stages = TINY_ARCH['num_layers']
    if checkpoint is None:
        backbone.init_cfg = None
    else:
        backbone.init_cfg.checkpoint = str(checkpoint)
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        cfg.model.test_cfg = dict(mode='whole')
    if 'size' in cfg.model.get('data_preprocessor', {}):
        cfg.model.data_preprocessor.size = (64, 64)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        shrink_inputs(cfg[loader])
        cfg[loader].update(batch_size=2, num_workers=0,
                           persistent_workers=False)
    return cfg


def build_model_and_batch(cfg):
    """The config's model (its toolbox scope) and one training batch."""
    from mmengine.runner import Runner

    import tscae_mm  # noqa: F401
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        registry = __import__(f'{cfg.default_scope}.registry',
                              fromlist=['MODELS']).MODELS
        model_cfg = copy.deepcopy(cfg.model)
        if cfg.get('data_preprocessor') and 'data_preprocessor' not in \
                model_cfg:
            model_cfg.data_preprocessor = cfg.data_preprocessor
        model = registry.build(model_cfg)
        model.init_weights()
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        return model, next(iter(loader))


@pytest.mark.parametrize('relative_path', ALL_CONFIGS)
def test_config_trains_one_step_on_mini_voc(relative_path, workspace,
                                            monkeypatch):
    monkeypatch.chdir(workspace)
    cfg = tiny_config(relative_path)
    if cfg.train_dataloader.dataset.type == 'CheckedCustomDataset':
        # the template's classes are the mini VOC object folders made here
        # (CheckedCustomDataset refuses others)
        folders = tuple(sorted(
            os.listdir(workspace / 'data' / 'my_classification' / 'train')))
        cfg.train_dataloader.dataset.metainfo = dict(classes=folders)
        cfg.model.head.num_classes = len(folders)
        cfg.data_preprocessor.num_classes = len(folders)
    assert cfg.custom_imports == dict(
        imports=['tscae_mm'], allow_failed_imports=False)
    assert cfg.model.backbone.type == 'TSCAEViT'
    model, batch = build_model_and_batch(cfg)
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    trained = [p for p in model.backbone.parameters() if p.requires_grad]
    if cfg.model.backbone.get('frozen_stages'):
        assert not trained  # linear probe: the backbone stays fixed
        assert model.neck is not None
    else:
        assert trained[-1].grad is not None
        assert model.backbone.patch_embed.projection.weight.grad.abs().sum(
        ) > 0


@pytest.mark.parametrize('toolbox', sorted(MINI_CONFIGS))
def test_pretrained_init_and_layer_decay_from_the_config(
        toolbox, workspace, tscae_checkpoint, monkeypatch):
    """The config's init_cfg loads the checkpoint's encoder; its optimiser
    scales the stem's lr by layer_decay_rate ** (num_layers + 1)."""
    from mmengine.optim import build_optim_wrapper
    monkeypatch.chdir(workspace)
    path, state_dict = tscae_checkpoint
    cfg = tiny_config(MINI_CONFIGS[toolbox], checkpoint=path)
    model, _ = build_model_and_batch(cfg)
    torch.testing.assert_close(model.backbone.layers[2].attn.qkv.weight,
                               state_dict['backbone.layers.2.attn.qkv.weight'])
    with DefaultScope.overwrite_default_scope(toolbox):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = {
        group['param_name']: group
        for group in optim_wrapper.optimizer.param_groups
    }
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    stem = groups['backbone.patch_embed.projection.weight']
    assert stem['lr_scale'] == pytest.approx(rate**5)
    assert stem['lr'] == pytest.approx(cfg.optim_wrapper.optimizer.lr *
                                       rate**5)
    assert groups['backbone.pos_embed']['weight_decay'] == 0


def write_tiny_run_config(toolbox, workspace, checkpoint):
    """A standalone copy of the mini-VOC config: tiny model, two steps."""
    cfg = tiny_config(MINI_CONFIGS[toolbox], checkpoint=checkpoint)
    if cfg.train_cfg.get('type') == 'IterBasedTrainLoop':
        cfg.train_cfg.update(max_iters=2, val_interval=2)
        cfg.default_hooks.checkpoint.interval = 2
    else:
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
        cfg.default_hooks.checkpoint.interval = 1
    path = workspace / f'tiny_{toolbox}.py'
    cfg.dump(path)
    return path


def run_and_read_metric(script, config, toolbox, workspace,
                        checkout_on_path=True, command=None, env=None):
    """Train + evaluate in a subprocess; return the logged VOC metric.
    ``command``: the arguments before the config instead of ``script``."""
    work_dir = workspace / 'work_dirs' / (
        f'{toolbox}_{osp.basename(script)}_{osp.basename(config)}')
    proc = run_tool((command or [script]) + [config, '--work-dir', work_dir],
                    cwd=workspace, checkout_on_path=checkout_on_path,
                    env=env)
    log = proc.stdout + proc.stderr
    assert 'load backbone. in model from' in log
    assert "ignored the pre-training placeholder tokens" in log
    # our tools/train.py chooses the CPU threads and logs it once (the
    # configs' ReliableRunner does so under the toolboxes' own scripts too)
    ours = (command or [script])[0] == REPO_ROOT / 'tools' / 'train.py'
    if ours and not torch.cuda.is_available():
        assert log.count('CPU threads: ') == 1
    metric = re.findall(VOC_METRIC_LINES[toolbox], log)
    assert metric, f'no metric line in the log:\n{log[-3000:]}'
    value = float(metric[-1])
    assert 0.0 <= value <= 100.0
    return value


@pytest.mark.parametrize('toolbox', sorted(MINI_CONFIGS))
def test_mini_voc_config_trains_and_evaluates(toolbox, workspace,
                                              tscae_checkpoint):
    config = write_tiny_run_config(toolbox, workspace, tscae_checkpoint[0])
    run_and_read_metric(REPO_ROOT / 'tools' / 'train.py', config, toolbox,
                        workspace)


@pytest.mark.parametrize('toolbox', ['mmdet', 'mmseg'])
def test_runs_from_the_toolbox_own_train_script(toolbox, workspace,
                                                tscae_checkpoint):
    assert osp.isfile(SHIPPED_TRAIN[toolbox])
    config = write_tiny_run_config(toolbox, workspace, tscae_checkpoint[0])
    run_and_read_metric(SHIPPED_TRAIN[toolbox], config, toolbox, workspace)


def write_client_config(toolbox, workspace, checkpoint, base):
    """A user's config in a folder of its own: it inherits the mini-VOC
    config by a path base (``base``: the configs folder, written as the
    user would) and overrides only what shrinks the run (the tiny model,
    small inputs, two steps); the rest (optimiser with layer decay,
    schedule, evaluator, runtime, custom_imports) comes from our config."""
    tiny = Config.fromfile(write_tiny_run_config(toolbox, workspace,
                                                 checkpoint))
    overrides = ('model', 'train_dataloader', 'val_dataloader',
                 'test_dataloader', 'train_cfg', 'default_hooks')
    lines = [f"_base_ = '{base}/benchmarks/{MINI_CONFIGS[toolbox]}'"]
    lines += [
        f'{key} = dict(_delete_=True, **{tiny[key].to_dict()!r})'
        for key in overrides
    ]
    folder = workspace / 'client'
    folder.mkdir(exist_ok=True)
    path = folder / f'my_{toolbox}.py'
    path.write_text('\n'.join(lines) + '\n')
    resolved = Config.fromfile(path)
    assert resolved.to_dict() == tiny.to_dict()
    return path


# how a client config names our configs folder: an environment variable
# (MMEngine substitutes it before reading the bases) or the plain path
CLIENT_BASES = {
    'mmpretrain': f'{{{{${config_scope.CONFIGS_ENV}:/nowhere}}}}',
    'mmdet': config_scope.configs_dir(),
}


@pytest.mark.parametrize('toolbox', sorted(CLIENT_BASES))
def test_a_client_config_inheriting_ours_by_path_trains_with_toolbox_script(
        toolbox, workspace, tscae_checkpoint, monkeypatch):
    """The user's set-up: their config elsewhere, a path base to our
    configs, the toolbox's own tools/train.py, tscae_mm found only as
    installed, nothing of ours enabled in the toolbox's process."""
    env = {config_scope.CONFIGS_ENV: config_scope.configs_dir()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # this process parses it too
    config = write_client_config(toolbox, workspace, tscae_checkpoint[0],
                                 CLIENT_BASES[toolbox])
    run_and_read_metric(SHIPPED_TRAIN[toolbox], config, toolbox, workspace,
                        checkout_on_path=False, env=env)


# openmim lives beside the environment's site-packages, not in it
# (scripts/setup_env.sh says why)
OPENMIM = osp.join(sys.prefix, 'openmim')


def test_mim_train_runs_our_train_script_from_an_installed_wheel(
        workspace, tscae_checkpoint, monkeypatch, tmp_path):
    """``mim train tscae_mm CONFIG`` runs tscae_mm/.mim/tools/train.py of
    an installed wheel (openmim looks for it beside the distribution's
    files in site-packages, where an editable install has none)."""
    if not osp.isdir(osp.join(OPENMIM, 'mim')):
        pytest.skip(f'openmim is not in {OPENMIM}; scripts/setup_env.sh '
                    'installs it there')
    site = tmp_path / 'site'
    with zipfile.ZipFile(build_wheel(tmp_path)) as archive:
        archive.extractall(site)
    installed = str(site / 'tscae_mm' / '.mim' / 'configs')
    monkeypatch.setenv(config_scope.CONFIGS_ENV, installed)
    config = write_client_config(
        'mmpretrain', workspace, tscae_checkpoint[0],
        f'{{{{${config_scope.CONFIGS_ENV}:/nowhere}}}}')
    run_and_read_metric('mim', config, 'mmpretrain', workspace,
                        checkout_on_path=False,
                        command=['-m', 'mim', 'train', 'tscae_mm'],
                        env={'PYTHONPATH': f'{site}{os.pathsep}{OPENMIM}',
                             config_scope.CONFIGS_ENV: installed})


# Our benchmark configs refuse a wrong ``load_from`` (here the TSCAE
# pre-training checkpoint, whose encoder belongs in ``init_cfg``) as they
# refuse a wrong ``init_cfg`` checkpoint: from a client directory, with each
# toolbox's own tools/train.py, through the configs' ``ReliableRunner``.
@pytest.mark.slow
@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmdet', 'mmseg'])
def test_wrong_load_from_is_refused_by_the_toolbox_own_script(
        toolbox, workspace, tscae_checkpoint, monkeypatch):
    checkpoint = tscae_checkpoint[0]
    env = {config_scope.CONFIGS_ENV: config_scope.configs_dir()}
    monkeypatch.setenv(config_scope.CONFIGS_ENV, config_scope.configs_dir())
    base = CLIENT_BASES.get(toolbox, config_scope.configs_dir())
    mine = write_client_config(toolbox, workspace, checkpoint, base)
    config = mine.parent / f'my_{toolbox}_load_from.py'
    config.write_text(f"_base_ = './{mine.name}'\n"
                      f'load_from = {str(checkpoint)!r}\n')
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **env)
    full_env.pop('PYTHONPATH', None)  # tscae_mm as installed
    work_dir = workspace / 'work_dirs' / f'wrong_load_from_{toolbox}'
    proc = subprocess.run(
        [sys.executable, SHIPPED_TRAIN[toolbox], str(config), '--work-dir',
         str(work_dir)], cwd=workspace, env=full_env, capture_output=True,
        text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout[-3000:]
    error = proc.stderr[proc.stderr.rfind('CheckpointMismatchError'):]
    assert error.startswith(
        f'CheckpointMismatchError: Refusing checkpoint {checkpoint}: its '
        "weights do not fit this config's model"), proc.stderr[-3000:]
    assert " of the model's " in error and ' weights match.' in error
    assert 'key(s) missing from the checkpoint' in error
    assert ("use model.backbone.init_cfg=dict(type='Pretrained', "
            "checkpoint=..., prefix='backbone.') instead") in error
    assert not list(work_dir.glob('*.pth'))  # refused before training
