"""Every pre-training config builds its model and its pipeline; the
user-facing configs are at most three inheritance levels deep."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import tscae_mm  # noqa: F401
from tscae_mm.utils import config_scope

from conftest import REPO_ROOT

CONFIG_ROOT = REPO_ROOT / 'configs'
PRETRAIN_CONFIGS = sorted((CONFIG_ROOT / 'tscae').glob('*.py')) + sorted(
    (CONFIG_ROOT / 'mae').glob('*.py')) + sorted(
        p for p in (REPO_ROOT / 'projects' / 'tscae_study' /
                    'configs').glob('*.py')
        if '_ft-' not in p.name)
USER_CONFIGS = sorted(p for p in CONFIG_ROOT.rglob('*.py')
                      if '_base_' not in p.parts)
# encoder parameters (patch embedding + blocks + norm), in millions
ENCODER_PARAMS = {'small': 21.7, 'base': 85.8, 'large': 303.3}
DEMO_IMAGE = REPO_ROOT / 'demo' / 'cifar10-mini' / 'cat' / '0000.jpg'


def train_pipeline(cfg):
    """The pipeline of the training set, inside the SeededDataset wrapper."""
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'SeededDataset' and cfg.train_dataloader.sampler[
        'type'] == 'SeededSampler'
    return dataset.dataset.pipeline


def load(path):
    cfg = Config.fromfile(str(path))
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return cfg


def test_all_expected_configs_exist():
    names = {p.name for p in PRETRAIN_CONFIGS}
    for method in ('tscae', 'mae'):
        for size in ('small', 'base', 'large'):
            for data in ('coco', 'tiny-imagenet'):
                assert (f'{method}_vit-{size}-p16_8xb64-amp-coslr-400e_'
                        f'{data}.py') in names
    assert 'tscae_vit-tiny-p4_demo.py' in names
    assert any('token-drop' in n for n in names)


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=lambda p: p.stem)
def test_config_builds_model_and_pipeline(path):
    cfg = load(path)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    size = next((s for s in ENCODER_PARAMS if f'-{s}-' in path.name), None)
    if size is not None:
        encoder = sum(p.numel() for n, p in model.backbone.named_parameters()
                      if n not in ('mask_token', 'visible_token', 'pos_embed'))
        assert encoder / 1e6 == pytest.approx(ENCODER_PARAMS[size], rel=0.01)
    expected_type = 'TSCAE' if path.name.startswith('tscae') else 'MAE'
    assert type(model).__name__ == expected_type
    if 'token-drop' in path.name:
        assert model.backbone.token_drop

    pipeline = Compose(train_pipeline(cfg))
    np.random.seed(0)
    sample = pipeline(dict(img_path=str(DEMO_IMAGE)))
    h, w = model.backbone.patch_resolution
    assert sample['inputs'].shape[-2:] == tuple(model.backbone.img_size)
    if expected_type == 'TSCAE':
        mask = np.asarray(sample['data_samples'].mask)
        generator = next(t for t in train_pipeline(cfg)
                         if t['type'] == 'ComplementaryMaskGenerator')
        views = generator.get('num_views', 1)
        assert mask.shape == ((h, w) if views == 1 else (views, h, w))
        hidden = h * w - round(h * w * (1 - generator['mask_ratio']))
        assert (mask.reshape(views, -1).sum(1) == hidden).all()
        if views > 1:  # the visible sets are disjoint and cover the image
            assert ((~mask).sum(0) == 1).all()
        assert (views > 1) == (
            cfg.model.get('student_targets') == 'sibling_views')
    assert 'auto_scale_lr' in cfg and cfg.train_cfg.max_epochs > 0
    degradations = [
        t for t in train_pipeline(cfg) if t['type'] == 'ImageDegradation'
    ]
    assert len(degradations) == ('-resample' in path.name)


def test_small_reference_config_computes_its_losses_on_a_real_image():
    cfg = load(CONFIG_ROOT / 'tscae' /
               'tscae_vit-small-p16_8xb64-amp-coslr-400e_coco.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    pipeline = Compose(train_pipeline(cfg))
    batch = default_collate(
        [pipeline(dict(img_path=str(DEMO_IMAGE))) for _ in range(2)])
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pixel', 'loss_contrast', 'loss_global'}
    assert all(torch.isfinite(v) for v in losses.values())
    # global consistency at init: cross-entropy of a near-uniform softmax
    assert losses['loss_global'].item() == pytest.approx(np.log(384), rel=0.2)


RECOMMENDED_CONFIGS = sorted(
    p for p in PRETRAIN_CONFIGS if 'recommended' in p.name)


def test_recommended_family_is_complete():
    names = {p.name for p in RECOMMENDED_CONFIGS}
    for size in ('small', 'base', 'large'):
        for data in ('coco', 'tiny-imagenet'):
            assert (f'tscae_vit-{size}-p16_8xb64-amp-recommended-coslr-400e_'
                    f'{data}.py') in names
    assert any('token-drop' in n for n in names)
    assert 'tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py' in names


@pytest.mark.parametrize('path', RECOMMENDED_CONFIGS, ids=lambda p: p.stem)
def test_recommended_config_is_its_reference_plus_the_switches(path):
    """Only the recommended switches differ from the reference config of
    the same name (token-drop ones from the token-drop reference)."""
    cfg = load(path)
    reference = load(path.parent / path.name.replace(
        '-recommended', '').replace('_recommended', ''))
    expected = reference.model.to_dict()
    expected['contrast_head']['symmetric'] = False
    assert cfg.model.to_dict() == expected
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'custom_hooks'):
        assert cfg[key] == reference[key], key


EFFICIENT_CONFIGS = sorted(
    p for p in PRETRAIN_CONFIGS if '-efficient-' in p.name)


def test_efficient_family_is_complete():
    names = {p.name for p in EFFICIENT_CONFIGS}
    assert names == {
        f'tscae_vit-{size}-p16_8xb16-amp-efficient-coslr-100e_{data}.py'
        for size in ('small', 'base', 'large')
        for data in ('coco', 'tiny-imagenet')
    }


@pytest.mark.parametrize('path', EFFICIENT_CONFIGS, ids=lambda p: p.stem)
def test_efficient_config_is_its_reference_at_maes_price(path):
    """The reference config of the same size and data with the efficient
    switches, 4 views of 16 images per GPU (64 encoder sequences, as MAE's
    64 images) and 100 epochs: MAE's number of steps for 400 views per
    image."""
    cfg = load(path)
    reference = load(path.parent / path.name.replace(
        '8xb16-amp-efficient-coslr-100e', '8xb64-amp-coslr-400e'))
    expected = reference.model.to_dict()
    expected['backbone']['token_drop'] = True
    expected['student_targets'] = 'sibling_views'
    expected['contrast_head'].update(symmetric=False,
                                     loss_type='infonce_image')
    expected['global_head']['stop_grad_target'] = True
    expected['token_regularizer'] = dict(type='TokenVarianceCovarianceLoss')
    assert cfg.model.to_dict() == expected
    pipeline = train_pipeline(cfg)
    ref_pipeline = train_pipeline(reference)
    assert pipeline[-2] == dict(ref_pipeline[-2], num_views=4)
    assert pipeline[:-2] + pipeline[-1:] == ref_pipeline[:-2] + \
        ref_pipeline[-1:]
    views, batch = 4, cfg.train_dataloader.batch_size
    assert views * batch == reference.train_dataloader.batch_size
    epochs = cfg.train_cfg.max_epochs
    # steps per image: epochs / batch, the reference's 400 / 64
    assert epochs / batch == reference.train_cfg.max_epochs / \
        reference.train_dataloader.batch_size
    assert cfg.optim_wrapper == reference.optim_wrapper
    assert cfg.auto_scale_lr.base_batch_size == 8 * batch
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.begin, cosine.end, cosine.T_max) == (
        10, 10, epochs, epochs - 10)


def bases(path):
    """The files a config names in ``_base_`` (a toolbox's ``pkg::`` names
    as they are; ``{{$TSCAE_MM_CONFIGS:fallback}}`` substituted as MMEngine
    does)."""
    return [name if '::' in name else (path.parent / name).resolve()
            for name in config_scope._base_names(str(path))]


def inheritance_levels(path):
    """The longest chain config -> base -> base's base ..., in hops; a
    toolbox's config (``mmdet::...``) counts as one level, whatever it
    inherits itself."""
    return max((1 if isinstance(base, str) else 1 + inheritance_levels(base)
                for base in bases(path)), default=0)


@pytest.mark.parametrize('path', USER_CONFIGS,
                         ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_at_most_three_inheritance_levels(path):
    assert inheritance_levels(path) <= 3
    assert '{{_base_.tscae_recommended}}' not in path.read_text()
