import copy

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import tscae_mm  # noqa: F401
from tscae_mm.models.utils import complementary_indices

TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def tiny_cfg(token_drop=False, loss_type='simsiam'):
    return dict(
        type='TSCAE',
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[127.5] * 3,
            std=[64.] * 3,
            to_rgb=True),
        backbone=dict(
            type='TSCAEViT',
            arch=TINY_ARCH,
            img_size=32,
            patch_size=8,
            masked_pretraining=True,
            token_drop=token_drop),
        neck=dict(
            type='TSCAETeacherDecoder',
            patch_resolution=4,
            in_channels=32,
            embed_dims=32,
            num_layers=1,
            num_heads=2),
        head=dict(type='TSCAEPixelHead', in_channels=32, patch_size=8),
        contrast_head=dict(
            type='TSCAETokenContrastHead', embed_dims=32, loss_type=loss_type),
        global_head=dict(type='TSCAEGlobalConsistencyHead'))


def build_model(**kwargs):
    model = MODELS.build(tiny_cfg(**kwargs))
    model.init_weights()
    return model


def random_masks(num_images, num_patches=16, num_hidden=12, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((num_images, num_patches), dtype=bool)
    for mask in masks:
        mask[rng.permutation(num_patches)[:num_hidden]] = True
    return masks.reshape(num_images, 4, 4)


def batch(num_images=4, seed=0):
    torch.manual_seed(seed)
    images = torch.randn(num_images, 3, 32, 32)
    samples = []
    for mask in random_masks(num_images, seed=seed):
        sample = DataSample()
        sample.set_field(mask, 'mask')
        samples.append(sample)
    return images, samples


def test_complementary_indices_split_and_order():
    masks = torch.from_numpy(random_masks(3))
    ids_visible, ids_masked = complementary_indices(masks, 16)
    assert ids_visible.shape == (3, 4) and ids_masked.shape == (3, 12)
    flat = masks.reshape(3, -1)
    for i in range(3):
        assert not flat[i, ids_visible[i]].any()
        assert flat[i, ids_masked[i]].all()
        both = torch.cat([ids_visible[i], ids_masked[i]]).sort().values
        assert torch.equal(both, torch.arange(16))


def test_complementary_indices_reject_uneven_and_wrong_size():
    masks = torch.from_numpy(random_masks(2))
    masks[1, 0, 0] = ~masks[1, 0, 0]
    with pytest.raises(ValueError, match='different numbers'):
        complementary_indices(masks, 16)
    with pytest.raises(ValueError, match='expects 64'):
        complementary_indices(torch.from_numpy(random_masks(2)), 64)


@pytest.mark.parametrize('token_drop', [False, True])
def test_encoder_output_shapes(token_drop):
    model = build_model(token_drop=token_drop)
    images, samples = batch()
    mask = torch.from_numpy(np.stack([s.mask for s in samples]))
    out = model.backbone(images, mask)
    assert out.teacher_visible.shape == (4, 4, 32)
    assert out.student_masked.shape == (4, 12, 32)
    assert out.student_global.shape == (4, 32)
    d_global, d_masked = model.neck(out.teacher_visible, out.ids_visible,
                                    out.ids_masked)
    assert d_global.shape == (4, 32) and d_masked.shape == (4, 12, 32)
    pixels = model.head.predict_pixels(d_masked)
    assert pixels.shape == (4, 12, 8 * 8 * 3)


def test_plain_forward_is_a_vit():
    model = build_model()
    feats = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert isinstance(feats, tuple) and feats[0].shape == (2, 32)


def test_teacher_and_student_share_one_set_of_weights():
    model = build_model()
    encoder_params = dict(model.backbone.named_parameters())
    # one copy of each block: nothing like a second (EMA / teacher) encoder
    assert sum(1 for n in encoder_params if n.startswith('layers.0.')) == len(
        [n for n, _ in model.backbone.layers[0].named_parameters()])
    assert set(encoder_params) >= {'mask_token', 'visible_token', 'cls_token'}
    # the teacher pass alone (features at V) depends on the shared blocks
    images, samples = batch()
    mask = torch.from_numpy(np.stack([s.mask for s in samples]))
    out = model.backbone(images, mask)
    grads = torch.autograd.grad(
        out.teacher_visible.sum(),
        model.backbone.layers[0].ffn.layers[1].weight,
        retain_graph=True)[0]
    assert grads.abs().sum() > 0
    grads = torch.autograd.grad(
        out.student_masked.sum(),
        model.backbone.layers[0].ffn.layers[1].weight)[0]
    assert grads.abs().sum() > 0


def test_placeholders_take_the_place_of_the_other_view():
    """The teacher's outputs at V do not depend on the pixels at M."""
    model = build_model().eval()
    images, samples = batch(num_images=1)
    mask = torch.from_numpy(samples[0].mask[None])
    hidden = mask.repeat_interleave(8, 1).repeat_interleave(8, 2)[:, None]
    noisy = torch.where(hidden, torch.randn_like(images), images)
    with torch.no_grad():
        out_a = model.backbone(images, mask)
        out_b = model.backbone(noisy, mask)
    torch.testing.assert_close(out_a.teacher_visible, out_b.teacher_visible)
    assert not torch.allclose(out_a.student_masked, out_b.student_masked)


@pytest.mark.parametrize('token_drop', [False, True])
@pytest.mark.parametrize('loss_name',
                         ['loss_pixel', 'loss_contrast', 'loss_global'])
def test_each_loss_reaches_the_encoder(token_drop, loss_name):
    model = build_model(token_drop=token_drop)
    data = model.data_preprocessor(
        dict(inputs=torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8),
             data_samples=batch()[1]), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pixel', 'loss_contrast', 'loss_global'}
    assert all(torch.isfinite(v) for v in losses.values())
    losses[loss_name].backward()
    encoder_grad = model.backbone.layers[0].attn.qkv.weight.grad
    assert encoder_grad is not None and encoder_grad.abs().sum() > 0
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0


def test_infonce_contrast_option():
    model = build_model(loss_type='infonce')
    images, samples = batch()
    losses = model.loss(images, samples)
    # InfoNCE over a batch of 4 starts near log(4)
    assert 0.5 < losses['loss_contrast'].item() < 3.


def test_token_drop_checkpoint_has_no_placeholders():
    model = build_model(token_drop=True)
    assert 'backbone.mask_token' not in model.state_dict()
    assert 'backbone.visible_token' not in model.state_dict()


@pytest.mark.parametrize('token_drop', [False, True])
def test_a_few_steps_lower_the_loss(token_drop):
    torch.manual_seed(0)
    model = build_model(token_drop=token_drop)
    images, samples = batch(num_images=8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    totals = []
    for _ in range(30):
        losses = model.loss(images, samples)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < totals[0] - 0.1, totals


def test_downstream_vit_drops_placeholder_tokens_on_load():
    pretrain = build_model()
    state = {
        k[len('backbone.'):]: v
        for k, v in pretrain.state_dict().items() if k.startswith('backbone.')
    }
    downstream = MODELS.build(
        dict(type='TSCAEViT', arch=TINY_ARCH, img_size=32, patch_size=8))
    result = downstream.load_state_dict(copy.deepcopy(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(downstream.layers[1].attn.qkv.weight,
                               pretrain.backbone.layers[1].attn.qkv.weight)


def test_missing_mask_in_data_samples_is_explained():
    model = build_model()
    with pytest.raises(KeyError, match='ComplementaryMaskGenerator'):
        model.loss(torch.randn(2, 3, 32, 32), [DataSample(), DataSample()])


def test_bad_switches_raise():
    cfg = tiny_cfg()['backbone']
    with pytest.raises(ValueError, match='masked_pretraining=True'):
        MODELS.build(dict(cfg, masked_pretraining=False, token_drop=True))
    with pytest.raises(ValueError, match="out_type='featmap'"):
        MODELS.build(dict(cfg, feature_pyramid=dict(type='Identity')))
    with pytest.raises(ValueError, match='loss_type'):
        MODELS.build(dict(type='TSCAETokenContrastHead', loss_type='l2'))


def test_no_generic_names_in_mmpretrain_registry():
    """Every name the package registers carries the method's prefix (or
    names what it is); mmpretrain's generic names stay free."""
    for name in ('TokenContrastHead', 'GlobalConsistencyHead'):
        assert MODELS.get(name) is None
