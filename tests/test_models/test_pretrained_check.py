"""TSCAEViT refuses a Pretrained initialisation that did not load its
weights, in an mmpretrain classifier, an mmdet detector and an mmseg
segmentor built from the mini-VOC benchmark configs (shrunk to a tiny ViT);
the benchmark configs load nothing until the checkpoint is set, and a child
config or --cfg-options really sets it."""
import copy
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import tscae_mm  # noqa: F401
from tscae_mm.models.utils import PretrainedEncoderError, pretrained_check

from conftest import REPO_ROOT
from tiny_configs import TINY_ARCH, TINY_WIDTH, replace_width

BENCHMARKS = REPO_ROOT / 'configs' / 'benchmarks'
MINI_CONFIGS = {
    'mmpretrain': 'mmpretrain/tscae_vit-tiny-p4_ft-1xb8-5e_mini-voc07.py',
    'mmdet':
    'mmdet/tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py',
    'mmseg': 'mmseg/tscae_vit-tiny-p4_upernet_1xb4-40i_mini-voc12aug.py',
}
TOOLBOXES = sorted(MINI_CONFIGS)


def tiny_model_cfg(toolbox, **init_cfg):
    """The mini config's model with a 32-wide ViT of TINY_ARCH's depth,
    its backbone init_cfg updated with ``init_cfg``."""
    cfg = Config.fromfile(BENCHMARKS / MINI_CONFIGS[toolbox])
    model = copy.deepcopy(cfg.model)
    replace_width(model, model.backbone.arch['embed_dims'])
    backbone = model.backbone
    backbone.update(arch=TINY_ARCH, img_size=32, patch_size=8)
    if backbone.get('feature_pyramid'):
        backbone.out_indices = (0, 1, 2, 3)
        backbone.feature_pyramid.update(
            embed_dims=TINY_WIDTH, scales=(2, 1, 0.5, 0.25))
    if toolbox == 'mmseg':
        model.data_preprocessor.size = (64, 64)
    backbone.init_cfg.update(init_cfg)
    return model


def build(toolbox, model_cfg):
    """The model, built in its toolbox's scope (not initialised)."""
    with DefaultScope.overwrite_default_scope(toolbox):
        registry = __import__(f'{toolbox}.registry',
                              fromlist=['MODELS']).MODELS
        return registry.build(model_cfg)


def init(toolbox, model):
    with DefaultScope.overwrite_default_scope(toolbox):
        model.init_weights()


def encoder(arch=TINY_ARCH, masked_pretraining=True, patch_size=8):
    """A TSCAE-pre-training encoder (with the placeholder tokens)."""
    from mmpretrain.registry import MODELS
    model = MODELS.build(
        dict(type='TSCAEViT', arch=arch, img_size=32, patch_size=patch_size,
             masked_pretraining=masked_pretraining))
    model.init_weights()
    return model


def save(path, state_dict):
    torch.save(dict(state_dict=state_dict, meta=dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Small checkpoints of the kinds a user may point init_cfg at."""
    from mmdet.models.backbones import ResNet
    root = tmp_path_factory.mktemp('checkpoints')
    tscae = encoder().state_dict()
    full = {f'backbone.{k}': v for k, v in tscae.items()}
    full.update({f'target_encoder.module.{k}': v.clone()
                 for k, v in tscae.items()})
    full['neck.decoder_norm.weight'] = torch.ones(TINY_WIDTH)
    shallow_arch = dict(TINY_ARCH, num_layers=2)
    shallow = {f'backbone.{k}': v
               for k, v in encoder(shallow_arch).state_dict().items()}
    # Faster R-CNN R50's key names (ResNet-50 layout, 2 channels wide).
    r50 = ResNet(depth=50, base_channels=2, stem_channels=2)
    detector = {f'backbone.{k}': v for k, v in r50.state_dict().items()}
    detector['rpn_head.rpn_conv.weight'] = torch.zeros(1, 1, 3, 3)
    return dict(
        full=save(root / 'tscae_full.pth', full),
        full_state=full,
        extracted=save(root / 'encoder_only.pth', tscae),
        shallow=save(root / 'tscae_depth2.pth', shallow),
        detector=save(root / 'faster-rcnn_r50.pth', detector))


def expected_weights(model):
    """Encoder weights a pre-training checkpoint must provide."""
    new = ('feature_pyramid.', 'ln2.', 'mask_token', 'visible_token')
    return [k for k in model.backbone.state_dict() if not k.startswith(new)]


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_full_checkpoint_with_prefix_loads_every_encoder_weight(
        toolbox, checkpoints):
    model = build(toolbox, tiny_model_cfg(
        toolbox, checkpoint=checkpoints['full'], prefix='backbone.'))
    lines = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrained_check, 'print_log',
                      lambda msg, **kwargs: lines.append(msg))
        init(toolbox, model)
    state = checkpoints['full_state']
    for key in expected_weights(model):
        torch.testing.assert_close(model.backbone.state_dict()[key],
                                   state[f'backbone.{key}'])
    count = len(expected_weights(model))
    assert any(f'TSCAEViT: all {count} encoder weights loaded from '
               f"checkpoint '{checkpoints['full']}' (prefix='backbone.')"
               in str(line) for line in lines), lines


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_full_checkpoint_without_prefix_is_refused(toolbox, checkpoints):
    path = checkpoints['full']
    model = build(toolbox, tiny_model_cfg(toolbox, checkpoint=path,
                                          prefix=None))
    with pytest.raises(PretrainedEncoderError) as error:
        init(toolbox, model)
    count = len(expected_weights(model))
    message = str(error.value)
    assert message.startswith(
        f"TSCAEViT: checkpoint '{path}' (prefix=None) holds 0 of the "
        f"encoder's {count} weights; the encoder would train from its "
        'random initialisation.')
    assert (f"under the prefix 'backbone.' ({count} of {count} weights"
            in message)
    assert "Fix: set prefix='backbone.'" in message
    assert f'tools/extract_backbone.py {path}' in message


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_detector_checkpoint_is_refused(toolbox, checkpoints):
    """A Faster R-CNN R50 checkpoint, read under 'backbone.' as configured:
    ResNet weights, none of them the ViT's."""
    path = checkpoints['detector']
    model = build(toolbox, tiny_model_cfg(toolbox, checkpoint=path,
                                          prefix='backbone.'))
    with pytest.raises(PretrainedEncoderError) as error:
        init(toolbox, model)
    message = str(error.value)
    assert (f"checkpoint '{path}' (prefix='backbone.') holds 0 of the "
            "encoder's") in message
    assert "None of its keys name this encoder's weights (they begin: " \
        'conv1.weight, bn1.weight, bn1.bias' in message
    assert 'another architecture' in message


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_checkpoint_of_another_depth_names_the_missing_blocks(
        toolbox, checkpoints):
    path = checkpoints['shallow']
    model = build(toolbox, tiny_model_cfg(toolbox, checkpoint=path,
                                          prefix='backbone.'))
    with pytest.raises(PretrainedEncoderError) as error:
        init(toolbox, model)
    message = str(error.value)
    count = len(expected_weights(model))
    assert (f"checkpoint '{path}' (prefix='backbone.') fits only part of "
            f'this encoder: {count - 24} of its {count} weights match.'
            ) in message
    assert ('24 weight(s) missing from the checkpoint: layers.2.* '
            '(12 weights), layers.3.* (12 weights)') in message
    assert 'allow_partial=True' in message


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_allow_partial_loads_the_matching_part(toolbox, checkpoints):
    path = checkpoints['shallow']
    model = build(toolbox, tiny_model_cfg(
        toolbox, checkpoint=path, prefix='backbone.', allow_partial=True))
    init(toolbox, model)
    shallow = torch.load(path, weights_only=True)['state_dict']
    torch.testing.assert_close(model.backbone.layers[1].attn.qkv.weight,
                               shallow['backbone.layers.1.attn.qkv.weight'])
    assert not torch.equal(model.backbone.layers[3].attn.qkv.weight,
                           shallow['backbone.layers.1.attn.qkv.weight'])
    # the option is TSCAEViT's, not handed to MMEngine's PretrainedInit
    assert model.backbone.init_cfg['allow_partial'] is True


def test_deeper_checkpoint_names_the_blocks_the_encoder_lacks(checkpoints,
                                                              tmp_path):
    deep = {f'backbone.{k}': v for k, v in encoder(
        dict(TINY_ARCH, num_layers=5)).state_dict().items()}
    path = save(tmp_path / 'deep.pth', deep)
    model = build('mmpretrain', tiny_model_cfg(
        'mmpretrain', checkpoint=path, prefix='backbone.'))
    with pytest.raises(PretrainedEncoderError, match=re.escape(
            '12 weight(s) in the checkpoint in blocks this encoder does not '
            'have: layers.4.* (12 weights)')):
        init('mmpretrain', model)


def test_checkpoint_of_another_width_names_the_shapes(tmp_path):
    wide = {f'backbone.{k}': v for k, v in encoder(
        dict(TINY_ARCH, embed_dims=48, feedforward_channels=96)
    ).state_dict().items()}
    path = save(tmp_path / 'wide.pth', wide)
    model = build('mmpretrain', tiny_model_cfg(
        'mmpretrain', checkpoint=path, prefix='backbone.'))
    with pytest.raises(PretrainedEncoderError) as error:
        init('mmpretrain', model)
    assert ('cls_token (checkpoint (1, 1, 48), model (1, 1, 32))'
            in str(error.value))


def test_extracted_encoder_with_prefix_names_the_fix(checkpoints):
    path = checkpoints['extracted']
    model = build('mmpretrain', tiny_model_cfg(
        'mmpretrain', checkpoint=path, prefix='backbone.'))
    with pytest.raises(PretrainedEncoderError) as error:
        init('mmpretrain', model)
    message = str(error.value)
    assert (f"TSCAEViT: checkpoint '{path}' has no weights under "
            "prefix='backbone.'; its keys begin with cls_token, layers., "
            'ln1., mask_token, patch_embed., pos_embed, ...') in message
    assert 'load it with prefix=None' in message


def test_extracted_encoder_without_prefix_loads(checkpoints):
    model = build('mmdet', tiny_model_cfg(
        'mmdet', checkpoint=checkpoints['extracted'], prefix=None))
    init('mmdet', model)
    torch.testing.assert_close(
        model.backbone.patch_embed.projection.weight,
        checkpoints['full_state']['backbone.patch_embed.projection.weight'])


@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_benchmark_config_without_checkpoint_names_the_key(toolbox):
    model = build(toolbox, tiny_model_cfg(toolbox))
    with pytest.raises(PretrainedEncoderError) as error:
        init(toolbox, model)
    assert str(error.value).startswith(
        "TSCAEViT: init_cfg=dict(type='Pretrained', checkpoint=None): no "
        'pre-trained checkpoint given. Set '
        'model.backbone.init_cfg.checkpoint')
    assert ('--cfg-options model.backbone.init_cfg.checkpoint='
            in str(error.value))


def test_no_benchmark_config_names_a_checkpoint():
    """Every benchmark config leaves the checkpoint to the user."""
    for path in sorted(BENCHMARKS.glob('*/*.py')):
        backbone = Config.fromfile(path).model.backbone
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint=None, prefix='backbone.'), path


def test_child_config_and_cfg_options_set_the_checkpoint(tmp_path):
    """What a child config in a client directory or --cfg-options set is
    what the model gets."""
    base = BENCHMARKS / 'mmseg' / \
        'tscae_vit-base-p16_upernet_4xb4-40k_voc12aug-512x512.py'
    child = tmp_path / 'client' / 'my_seg.py'
    child.parent.mkdir()
    child.write_text(
        f'_base_ = {str(base)!r}\n'
        "model = dict(backbone=dict(init_cfg=dict(checkpoint='mine.pth', "
        'prefix=None)))\n')
    cfg = Config.fromfile(child)
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='mine.pth', prefix=None)
    cfg = Config.fromfile(base)
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': 'other.pth'})
    assert cfg.model.backbone.init_cfg.checkpoint == 'other.pth'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
