"""BackboneLayerDecayOptimWrapperConstructor: lr scales by backbone depth,
weight-decay exclusions, for any model with a ViT backbone."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import tscae_mm.downstream  # noqa: F401
from tscae_mm.models import TSCAEViT

NUM_LAYERS = 3
DECAY = 0.5
LR = 1.0
WEIGHT_DECAY = 0.05
OPTIM_WRAPPER = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=LR, weight_decay=WEIGHT_DECAY),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=DECAY,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0)
        }))


class TinyDenseModel(nn.Module):
    """Stands for a detector / segmentor: ViT backbone, a neck, a head."""

    def __init__(self):
        super().__init__()
        self.backbone = TSCAEViT(
            arch=dict(
                embed_dims=16,
                num_layers=NUM_LAYERS,
                num_heads=2,
                feedforward_channels=32),
            img_size=16,
            patch_size=8,
            out_indices=(0, 1, 2),
            out_type='featmap',
            feature_pyramid=dict(
                type='ViTFeaturePyramid', embed_dims=16, scales=(2, 1, 0.5)))
        self.neck = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(8, 2)


def groups_by_name(model, scope='mmdet'):
    with DefaultScope.overwrite_default_scope(scope):
        optim_wrapper = build_optim_wrapper(model, OPTIM_WRAPPER)
    return {
        group['param_name']: group
        for group in optim_wrapper.optimizer.param_groups
    }


def scale_at_depth(depth):
    """Depths run 0 (stem) .. NUM_LAYERS + 1 (above the blocks)."""
    return DECAY**(NUM_LAYERS + 1 - depth)


def test_lr_scale_follows_backbone_depth():
    groups = groups_by_name(TinyDenseModel())
    expected_scales = {
        'backbone.cls_token': scale_at_depth(0),
        'backbone.pos_embed': scale_at_depth(0),
        'backbone.patch_embed.projection.weight': scale_at_depth(0),
        'backbone.layers.0.attn.qkv.weight': scale_at_depth(1),
        'backbone.layers.2.ffn.layers.1.weight': scale_at_depth(3),
        'backbone.ln1.weight': 1.0,
        'backbone.feature_pyramid.rescalers.0.0.weight': 1.0,
        'neck.weight': 1.0,
        'head.weight': 1.0,
    }
    for name, scale in expected_scales.items():
        assert groups[name]['lr'] == pytest.approx(LR * scale), name
    assert groups['backbone.layers.0.attn.qkv.weight']['lr'] == \
        pytest.approx(LR * DECAY**3)


def test_no_weight_decay_for_norms_biases_and_embeddings():
    groups = groups_by_name(TinyDenseModel())
    for name in ('backbone.cls_token', 'backbone.pos_embed',
                 'backbone.layers.1.ln1.weight', 'backbone.ln1.bias',
                 'backbone.layers.1.attn.qkv.bias', 'neck.bias'):
        assert groups[name]['weight_decay'] == 0.0, name
    for name in ('backbone.layers.1.attn.qkv.weight', 'neck.weight',
                 'backbone.patch_embed.projection.weight'):
        assert groups[name]['weight_decay'] == WEIGHT_DECAY, name


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_found_under_every_default_scope(scope):
    groups = groups_by_name(TinyDenseModel(), scope)
    assert groups['backbone.layers.0.attn.qkv.weight']['lr_scale'] == \
        pytest.approx(DECAY**3)


def test_all_parameters_are_in_exactly_one_group():
    model = TinyDenseModel()
    groups = groups_by_name(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == trainable


def test_refuses_a_backbone_without_layer_depths():

    class ConvModel(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Conv2d(3, 4, 3)

    with pytest.raises(TypeError, match='backbone.*Conv2d.*ViT backbone'):
        groups_by_name(ConvModel())


def test_training_step_uses_the_scaled_lrs():
    """One AdamW step moves a stem weight by about DECAY**4 times as much
    as a head weight (AdamW's first step is lr * sign(grad))."""
    model = TinyDenseModel()
    with DefaultScope.overwrite_default_scope('mmdet'):
        optim_wrapper = build_optim_wrapper(
            model, dict(OPTIM_WRAPPER, optimizer=dict(
                type='AdamW', lr=1e-3, weight_decay=0.0)))
    stem = model.backbone.patch_embed.projection.weight
    before_stem, before_head = stem.detach().clone(), \
        model.head.weight.detach().clone()
    feats = model.backbone(torch.randn(2, 3, 16, 16))
    pooled = model.neck(feats[1]).mean(dim=(2, 3))
    optim_wrapper.update_params(model.head(pooled).square().mean())
    stem_step = (stem.detach() - before_stem).abs().max()
    head_step = (model.head.weight.detach() - before_head).abs().max()
    assert stem_step / head_step == pytest.approx(DECAY**4, rel=0.05)
