"""TSCAEViT as a dense-prediction backbone: feature pyramid, registration in
mmdet / mmseg, and loading TSCAE and MAE checkpoints in all three toolboxes."""
import importlib
import logging
from contextlib import contextmanager

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.models.utils import resize_pos_embed

import tscae_mm.downstream  # noqa: F401
from tscae_mm.downstream.registration import register_into
from tscae_mm.models import TSCAEViT, ViTFeaturePyramid

from conftest import run_tool

TINY_ARCH = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
TOOLBOXES = ('mmpretrain', 'mmdet', 'mmseg')


def pyramid_backbone(**kwargs):
    """A tiny patch-8 TSCAEViT giving strides 4, 8, 16, 32."""
    cfg = dict(
        type='TSCAEViT',
        arch=TINY_ARCH,
        img_size=32,
        patch_size=8,
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        feature_pyramid=dict(
            type='ViTFeaturePyramid',
            embed_dims=TINY_ARCH['embed_dims'],
            scales=(2, 1, 0.5, 0.25)))
    cfg.update(kwargs)
    return cfg


def build_in(toolbox, cfg):
    """Build ``cfg`` from ``toolbox``'s MODELS under its default scope."""
    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    with DefaultScope.overwrite_default_scope(toolbox):
        return registry.build(cfg)


@contextmanager
def captured_log():
    """Messages logged to MMEngine's current logger inside the block."""
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope='module')
def tscae_checkpoint(tmp_path_factory):
    """A tiny TSCAE model (encoder under ``backbone.``) saved to disk."""
    from mmpretrain.registry import MODELS
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
                in_channels=32,
                embed_dims=32,
                num_layers=1,
                num_heads=2),
            head=dict(type='TSCAEPixelHead', in_channels=32, patch_size=8),
            contrast_head=dict(type='TSCAETokenContrastHead', embed_dims=32),
            global_head=dict(type='TSCAEGlobalConsistencyHead')))
    model.init_weights()
    path = tmp_path_factory.mktemp('tscae') / 'tscae.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.state_dict()


@pytest.fixture(scope='module')
def mae_checkpoint(tmp_path_factory):
    """A tiny mmpretrain MAE model saved to disk."""
    from mmpretrain.registry import MODELS
    model = MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT', arch=TINY_ARCH, img_size=32, patch_size=8),
            neck=dict(
                type='MAEPretrainDecoder',
                num_patches=16,
                patch_size=8,
                embed_dim=32,
                decoder_embed_dim=16,
                decoder_depth=1,
                decoder_num_heads=2),
            head=dict(
                type='MAEPretrainHead',
                patch_size=8,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'))))
    model.init_weights()
    path = tmp_path_factory.mktemp('mae') / 'mae.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.state_dict()


def test_pyramid_strides_for_a_non_square_input():
    backbone = TSCAEViT(**{
        k: v
        for k, v in pyramid_backbone().items() if k != 'type'
    })
    images = torch.randn(2, 3, 72, 104)  # 9 x 13 patches
    feats = backbone(images)
    assert [tuple(f.shape) for f in feats] == [(2, 32, 18, 26),
                                               (2, 32, 9, 13), (2, 32, 4, 6),
                                               (2, 32, 2, 3)]
    sum(f.mean() for f in feats).backward()
    assert backbone.pos_embed.grad.abs().sum() > 0
    assert backbone.feature_pyramid.rescalers[0][0].weight.grad is not None


def test_patch16_pyramid_up_samples_twice_with_norm_between():
    pyramid = ViTFeaturePyramid(embed_dims=8)
    assert [type(m).__name__ for m in pyramid.rescalers[0]] == [
        'ConvTranspose2d', 'BatchNorm2d', 'GELU', 'ConvTranspose2d'
    ]
    feats = pyramid([torch.randn(1, 8, 4, 6) for _ in range(4)])
    assert [f.shape[-2:] for f in feats] == [(16, 24), (8, 12), (4, 6),
                                             (2, 3)]


def test_pyramid_errors_say_what_to_change():
    with pytest.raises(ValueError, match='power of two.*scale p / s'):
        ViTFeaturePyramid(embed_dims=8, scales=(3, 1))
    with pytest.raises(ValueError, match='one out_indices entry per scale'):
        ViTFeaturePyramid(embed_dims=8)([torch.randn(1, 8, 4, 4)] * 3)


def test_drop_path_is_active_in_training_only():
    backbone = TSCAEViT(
        arch=TINY_ARCH, img_size=32, patch_size=8, drop_path_rate=0.5)
    images = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    first, second = backbone(images)[0], backbone(images)[0]
    assert not torch.allclose(first, second)
    backbone.eval()
    torch.testing.assert_close(backbone(images)[0], backbone(images)[0])


def test_registered_as_the_same_classes_in_mmdet_and_mmseg():
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

    from tscae_mm.downstream import BackboneLayerDecayOptimWrapperConstructor
    for toolbox in ('mmdet', 'mmseg'):
        registry = importlib.import_module(f'{toolbox}.registry')
        assert registry.MODELS.get('TSCAEViT') is TSCAEViT
        assert registry.MODELS.get('ViTFeaturePyramid') is ViTFeaturePyramid
    for toolbox in TOOLBOXES:
        with DefaultScope.overwrite_default_scope(toolbox):
            found = OPTIM_WRAPPER_CONSTRUCTORS.get(
                'BackboneLayerDecayOptimWrapperConstructor')
        assert found is BackboneLayerDecayOptimWrapperConstructor


@pytest.mark.slow
@pytest.mark.parametrize('absent, present', [('mmdet', 'mmseg'),
                                             ('mmseg', 'mmdet')])
def test_a_missing_toolbox_skips_only_its_registration(absent, present):
    """``sys.modules[name] = None`` makes a package look uninstalled:
    importing tscae_mm does not fail, and the other toolbox is served."""
    code = (f'import sys; sys.modules[{absent!r}] = None\n'
            'import tscae_mm\n'
            'from tscae_mm.downstream import registered_toolboxes\n'
            f'from {present}.registry import MODELS\n'
            'print(registered_toolboxes(), MODELS.get("TSCAEViT").__name__)')
    proc = run_tool(['-c', code])
    assert proc.stdout.split()[-2:] == [f"('{present}',)", 'TSCAEViT']
    assert register_into('no_such_toolbox') is False


def test_registration_needs_no_import_hooks():
    """import tscae_mm registered the encoder at once (above) and left no
    finder of its own on sys.meta_path."""
    import sys

    from tscae_mm.downstream import registered_toolboxes
    assert registered_toolboxes() == ('mmdet', 'mmseg')
    assert not [
        finder for finder in sys.meta_path
        if type(finder).__module__.startswith('tscae_mm')
    ]


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_tscae_checkpoint_loads_in_each_toolbox(toolbox, tscae_checkpoint):
    path, state_dict = tscae_checkpoint
    backbone = build_in(
        toolbox,
        pyramid_backbone(
            img_size=(48, 64),
            init_cfg=dict(
                type='Pretrained', checkpoint=str(path),
                prefix='backbone.')))
    with captured_log() as messages:
        backbone.init_weights()
    log = '\n'.join(messages)

    for name, value in backbone.state_dict().items():
        if name.startswith('feature_pyramid') or name == 'pos_embed':
            continue
        torch.testing.assert_close(value, state_dict[f'backbone.{name}'])
    # 4x4 pre-training grid resized to the 6x8 grid of 48x64 inputs
    expected_pos = resize_pos_embed(state_dict['backbone.pos_embed'], (4, 4),
                                    (6, 8), 'bicubic', 1)
    torch.testing.assert_close(backbone.pos_embed.data, expected_pos)
    assert "ignored the pre-training placeholder tokens ['mask_token', " \
        "'visible_token']" in log
    assert 'unexpected key' not in log
    missing = log.split('missing keys in source state_dict: ')[1]
    assert all(key.startswith('feature_pyramid.')
               for key in missing.split('\n')[0].split(', '))


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_mae_checkpoint_loads_the_same_way(toolbox, mae_checkpoint):
    path, state_dict = mae_checkpoint
    backbone = build_in(
        toolbox,
        dict(
            type='TSCAEViT',
            arch=TINY_ARCH,
            img_size=32,
            patch_size=8,
            init_cfg=dict(
                type='Pretrained', checkpoint=str(path),
                prefix='backbone.')))
    with captured_log() as messages:
        backbone.init_weights()
    log = '\n'.join(messages)
    for name, value in backbone.state_dict().items():
        torch.testing.assert_close(value, state_dict[f'backbone.{name}'])
    assert 'load backbone. in model' in log
    assert 'do not match' not in log  # mmpretrain's MAE keeps its mask
    # token in the decoder (neck.mask_token): every encoder key fits


def test_unexpected_keys_are_reported_by_name(tscae_checkpoint):
    path, _ = tscae_checkpoint
    backbone = TSCAEViT(
        arch=TINY_ARCH,
        img_size=32,
        patch_size=8,
        final_norm=False,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with captured_log() as messages:
        backbone.init_weights()
    assert 'unexpected key in source state_dict: ln1.weight, ln1.bias' in \
        '\n'.join(messages)
