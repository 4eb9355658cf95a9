"""The cost switches of issue 22: sibling-view targets, the same-image
InfoNCE token contrast, the student pass as a pure target, and the study's
screening configs that use them."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

import tscae_mm  # noqa: F401

K = 4  # views per image: 16 patches (32 px, 8 px patches), ratio 0.75
NUM_VISIBLE, NUM_MASKED, DIMS = 4, 12, 32
STUDY_CONFIGS = Path(__file__).resolve().parents[2] / \
    'projects/tscae_study/configs'


def tiny_cfg(token_drop=True, student_targets='student_pass',
             loss_type='simsiam', symmetric=False):
    return dict(
        type='TSCAE',
        student_targets=student_targets,
        backbone=dict(
            type='TSCAEViT',
            arch=dict(embed_dims=DIMS, num_layers=2, num_heads=2,
                      feedforward_channels=64),
            img_size=32,
            patch_size=8,
            masked_pretraining=True,
            token_drop=token_drop),
        neck=dict(type='TSCAETeacherDecoder', patch_resolution=4,
                  in_channels=DIMS, embed_dims=DIMS, num_layers=1,
                  num_heads=2),
        head=dict(type='TSCAEPixelHead', in_channels=DIMS, patch_size=8),
        contrast_head=dict(type='TSCAETokenContrastHead', embed_dims=DIMS,
                           loss_type=loss_type, symmetric=symmetric),
        global_head=dict(type='TSCAEGlobalConsistencyHead',
                         stop_grad_target=True))


def build(**kwargs):
    model = MODELS.build(tiny_cfg(**kwargs))
    model.init_weights()
    return model


def view_batch(num_images=3, num_views=K, seed=0):
    """Images and data samples with (K, 4, 4) masks from the transform."""
    generator = TRANSFORMS.build(
        dict(type='ComplementaryMaskGenerator', input_size=32, patch_size=8,
             mask_ratio=1 - 1 / num_views, num_views=num_views))
    np.random.seed(seed)
    torch.manual_seed(seed)
    samples = []
    for _ in range(num_images):
        sample = DataSample()
        sample.set_field(generator({})['mask'], 'mask')
        samples.append(sample)
    return torch.randn(num_images, 3, 32, 32), samples


def masks_of(samples):
    return torch.from_numpy(np.stack([s.mask for s in samples]))


def sibling_model():
    return build(student_targets='sibling_views')


# ------------------------------------------------------ sibling-view targets
def test_sibling_view_shapes_for_four_views():
    model = sibling_model()
    images, samples = view_batch(num_images=3)
    out = model.backbone.sibling_view_passes(images, masks_of(samples))
    assert out.teacher_visible.shape == (3 * K, NUM_VISIBLE, DIMS)
    assert out.student_masked.shape == (3 * K, NUM_MASKED, DIMS)
    assert out.student_global.shape == (3 * K, DIMS)
    assert out.ids_visible.shape == (3 * K, NUM_VISIBLE)
    assert out.ids_masked.shape == (3 * K, NUM_MASKED)
    d_global, d_masked = model.neck(out.teacher_visible, out.ids_visible,
                                    out.ids_masked)
    assert d_global.shape == (3 * K, DIMS)
    assert d_masked.shape == (3 * K, NUM_MASKED, DIMS)
    losses = model.loss(images, samples)
    assert set(losses) == {'loss_pixel', 'loss_contrast', 'loss_global'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_the_views_of_an_image_are_disjoint_and_cover_it():
    model = sibling_model()
    images, samples = view_batch(num_images=2)
    out = model.backbone.sibling_view_passes(images, masks_of(samples))
    for n in range(2):
        visible = out.ids_visible[n * K:(n + 1) * K]
        assert torch.equal(visible.flatten().sort().values, torch.arange(16))
        for k in range(K):  # M_k is what the siblings saw
            siblings = torch.cat([visible[j] for j in range(K) if j != k])
            assert torch.equal(out.ids_masked[n * K + k],
                               siblings.sort().values)


def test_targets_are_the_sibling_views_teacher_outputs_bit_for_bit():
    model = sibling_model()
    images, samples = view_batch(num_images=2)
    out = model.backbone.sibling_view_passes(images, masks_of(samples))
    for n in range(2):
        for k in range(K):
            row = n * K + k
            for m, patch in enumerate(out.ids_masked[row].tolist()):
                owners = [(j, i) for j in range(K) for i, p in enumerate(
                    out.ids_visible[n * K + j].tolist()) if p == patch]
                assert len(owners) == 1 and owners[0][0] != k
                j, i = owners[0]
                assert torch.equal(out.student_masked[row, m],
                                   out.teacher_visible[n * K + j, i].detach())


def test_one_pass_over_the_views_is_each_views_teacher_pass():
    """The N * K sequences are the token-drop teacher passes of the views,
    and the global target is the mean of the siblings' cls outputs (the cls
    output over cls + V_j is the student pass's over a mask hiding V_j)."""
    model = sibling_model().eval()
    images, samples = view_batch(num_images=2)
    mask = masks_of(samples)
    with torch.no_grad():
        out = model.backbone.sibling_view_passes(images, mask)
        cls_out = []
        for j in range(K):
            own = model.backbone(images, mask[:, j])
            torch.testing.assert_close(out.teacher_visible[j::K],
                                       own.teacher_visible)
            cls_out.append(model.backbone(images, ~mask[:, j]).student_global)
    for k in range(K):
        siblings = [cls_out[j] for j in range(K) if j != k]
        expected = torch.stack(siblings).mean(0)
        torch.testing.assert_close(out.student_global[k::K], expected)


def test_targets_carry_no_autograd_graph():
    model = sibling_model()
    images, samples = view_batch()
    out = model.backbone.sibling_view_passes(images, masks_of(samples))
    for target in (out.student_masked, out.student_global):
        assert not target.requires_grad and target.grad_fn is None
    assert out.teacher_visible.grad_fn is not None


def test_the_encoder_is_trained_through_one_teacher_pass_only():
    model = sibling_model()
    assert not model.student_pass_trained
    images, samples = view_batch(num_images=3)
    block_calls, embed_calls = [], []
    model.backbone.layers[0].register_forward_hook(
        lambda m, args, out: block_calls.append(
            (tuple(args[0].shape), torch.is_grad_enabled())))
    model.backbone.patch_embed.register_forward_hook(
        lambda m, args, out: embed_calls.append(len(args[0])))
    losses = model.loss(images, samples)
    # one encoder pass, with gradient, over cls + V_k of all 3 * K views;
    # the patches embedded once per image
    assert block_calls == [((3 * K, 1 + NUM_VISIBLE, DIMS), True)]
    assert embed_calls == [3]
    sum(losses.values()).backward()
    for name in ('layers.0.attn.qkv.weight', 'patch_embed.projection.weight',
                 'cls_token'):
        assert model.backbone.get_parameter(name).grad.abs().sum() > 0, name


def test_sibling_views_learn_on_a_tiny_batch():
    torch.manual_seed(0)
    model = sibling_model()
    images, samples = view_batch(num_images=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    totals = []
    for _ in range(20):
        total = sum(model.loss(images, samples).values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < totals[0] - 0.1, totals


def test_sibling_views_regularise_the_teacher_tokens_with_gradient():
    cfg = tiny_cfg(student_targets='sibling_views')
    cfg['token_regularizer'] = dict(type='TokenVarianceCovarianceLoss')
    model = MODELS.build(cfg)
    model.init_weights()
    images, samples = view_batch(num_images=3)
    seen = []
    original = model.token_regularizer.loss
    model.token_regularizer.loss = lambda tokens: seen.append(tokens) or \
        original(tokens)
    losses = model.loss(images, samples)
    (tokens, ) = seen
    # the teacher outputs at V of all 3 * K views, which carry the gradient
    assert tokens.shape == (3 * K, NUM_VISIBLE, DIMS)
    assert tokens.grad_fn is not None
    losses['loss_token_reg'].backward()
    assert model.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kwargs,message', [
    (dict(token_drop=False), 'token_drop=True'),
    (dict(symmetric=True), 'symmetric=False'),
    (dict(student_targets='siblings'), 'student_targets must be one of'),
])
def test_sibling_views_refuse_what_cannot_work(kwargs, message):
    kwargs.setdefault('student_targets', 'sibling_views')
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_masks_and_student_targets_must_agree():
    images, samples = view_batch(num_images=2)
    with pytest.raises(ValueError, match="student_targets='sibling_views'"):
        build().loss(images, samples)  # K-view masks, default targets
    single = []
    for sample in samples:
        one = DataSample()
        one.set_field(sample.mask[0], 'mask')
        single.append(one)
    with pytest.raises(ValueError, match='num_views=K'):
        sibling_model().loss(images, single)


def test_overlapping_views_are_refused():
    model = sibling_model()
    images, samples = view_batch(num_images=1)
    mask = masks_of(samples)
    mask[0, 1] = mask[0, 0]  # view 1 sees what view 0 sees
    with pytest.raises(ValueError, match='disjoint and cover'):
        model.backbone.sibling_view_passes(images, mask)


# --------------------------------------------------- same-image InfoNCE
def image_infonce_head(symmetric=False, temperature=0.1, dims=4):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='TSCAETokenContrastHead', embed_dims=dims, reduction=1,
             loss_type='infonce_image', symmetric=symmetric,
             temperature=temperature))


def test_same_image_infonce_is_the_hand_computed_cross_entropy():
    head = image_infonce_head(temperature=0.5).eval()
    torch.manual_seed(1)
    decoded, student = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    pred = head.predict(decoded).tolist()
    target = student.tolist()

    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    terms = []
    for n in range(2):
        for i in range(3):
            logits = [cos(pred[n][i], target[n][j]) / 0.5 for j in range(3)]
            terms.append(math.log(sum(math.exp(v) for v in logits)) -
                         logits[i])
    expected = sum(terms) / len(terms)
    assert head.loss(decoded, student).item() == pytest.approx(
        expected, rel=1e-5)


def test_same_image_infonce_is_lower_when_each_position_matches_its_own():
    head = image_infonce_head(dims=16).eval()
    torch.manual_seed(2)
    decoded = torch.randn(2, 6, 16)
    own = head.predict(decoded).detach()  # each prediction's own target
    shifted = own.roll(1, dims=1)  # each target at another position
    assert head.loss(decoded, own) < head.loss(decoded, shifted) - 1.
    assert head.loss(decoded, own) < math.log(6)


def test_same_image_infonce_ignores_the_other_images():
    head = image_infonce_head().eval()
    torch.manual_seed(3)
    decoded, student = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    alone = [head.loss(decoded[i:i + 1], student[i:i + 1]) for i in (0, 1)]
    torch.testing.assert_close(head.loss(decoded, student),
                               (alone[0] + alone[1]) / 2)


@pytest.mark.parametrize('symmetric', [False, True])
def test_same_image_infonce_one_way_and_two_way(symmetric):
    head = image_infonce_head(symmetric=symmetric)
    decoded = torch.randn(2, 5, 4, requires_grad=True)
    student = torch.randn(2, 5, 4, requires_grad=True)
    head.loss(decoded, student).backward()
    assert decoded.grad.abs().sum() > 0
    if symmetric:
        assert student.grad.abs().sum() > 0
    else:
        assert student.grad is None  # one way: nothing pulls the targets


def test_same_image_infonce_in_the_model():
    model = sibling_model()
    images, samples = view_batch(num_images=2)
    model.contrast_head.loss_type = 'infonce_image'
    losses = model.loss(images, samples)
    # 12 masked positions per view: at init near log(12)
    assert 1. < losses['loss_contrast'].item() < 4.
    losses['loss_contrast'].backward()
    assert model.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0


# ------------------------------------------- the student pass as a target
def test_untrained_student_pass_holds_no_autograd_graph():
    """token_drop + one-way contrast + stop-gradient global target: the
    student pass runs under no_grad; its outputs have no grad_fn."""
    model = build()
    assert not model.student_pass_trained
    images, samples = view_batch(num_images=3)
    mask = masks_of(samples)[:, 0]  # one (h, w) mask per image
    out = model.backbone(images, mask, student_encoder=model.student_encoder())
    for target in (out.student_masked, out.student_global):
        assert target.grad_fn is None and not target.requires_grad
    assert out.teacher_visible.grad_fn is not None
    block_calls = []
    model.backbone.layers[0].register_forward_hook(
        lambda m, args, o: block_calls.append(torch.is_grad_enabled()))
    single = []
    for sample in samples:
        one = DataSample()
        one.set_field(sample.mask[0], 'mask')
        single.append(one)
    model.loss(images, single)
    assert block_calls == [True, False]  # teacher with, student without


# -------------------------------------------------- screening configs
NO_GRAD_STUDENT = STUDY_CONFIGS / (
    'screening/tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_one-sided_'
    'stop-grad-global.py')
SCREENING = [NO_GRAD_STUDENT] + sorted(
    (STUDY_CONFIGS / 'screening_efficiency').glob('*.py'))


def mask_generator_cfg(cfg):
    return next(t for t in cfg.train_dataloader.dataset.dataset.pipeline
                if t['type'] == 'ComplementaryMaskGenerator')


def test_the_nine_candidates_are_there():
    assert len(SCREENING) == 9 and all(p.is_file() for p in SCREENING)


@pytest.mark.parametrize(
    'path', SCREENING, ids=lambda p: p.stem.split('cifar10-5k_')[-1])
def test_screening_config_trains_two_steps(path):
    cfg = Config.fromfile(str(path))
    model_cfg = cfg.model
    assert model_cfg.backbone.token_drop
    assert not model_cfg.contrast_head.symmetric
    assert model_cfg.global_head.stop_grad_target
    views = mask_generator_cfg(cfg).get('num_views', 1)
    sibling = model_cfg.get('student_targets') == 'sibling_views'
    assert views == (K if sibling else 1)
    # 64 teacher sequences per step for every candidate
    assert cfg.train_dataloader.batch_size * views == 64
    model = MODELS.build(model_cfg)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    pipeline = [
        TRANSFORMS.build(t)
        for t in cfg.train_dataloader.dataset.dataset.pipeline
        if not t['type'].startswith('LoadImage')
    ]
    rng = np.random.default_rng(0)
    for _ in range(2):
        samples = []
        for _ in range(4):
            results = dict(
                img=rng.integers(0, 256, (40, 40, 3), dtype=np.uint8),
                img_shape=(40, 40), ori_shape=(40, 40))
            for transform in pipeline:
                results = transform(results)
            samples.append(results)
        log_vars = model.train_step(default_collate(samples), optim_wrapper)
        assert all(math.isfinite(float(v)) for v in log_vars.values())


SIBLING_VIEWS = {
    'model.student_targets': 'sibling_views',
    'train_pipeline.3.num_views': K,
    'train_dataloader.dataset.dataset.pipeline.3.num_views': K,
    'train_dataloader.batch_size': 16,
    'auto_scale_lr.base_batch_size': 16,
}
INFONCE_IMAGE = {'model.contrast_head.loss_type': 'infonce_image'}
CHANGES = {
    'no-grad-student_decoder-1l': {'model.neck.num_layers': 1},
    'no-grad-student_infonce-image': INFONCE_IMAGE,
    'sibling-views-4': SIBLING_VIEWS,
    'sibling-views-4_infonce-image': dict(SIBLING_VIEWS, **INFONCE_IMAGE),
    'sibling-views-4_vicreg': dict(
        SIBLING_VIEWS, **{
            'model.token_regularizer.type': 'TokenVarianceCovarianceLoss'
        }),
}


def flat(tree, prefix=''):
    """{'a.b.0.c': leaf} of nested dicts and lists."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, list) else None
    if items is None:
        return {prefix[:-1]: tree}
    return {k: v for key, value in items
            for k, v in flat(value, f'{prefix}{key}.').items()}


@pytest.mark.parametrize('name', sorted(CHANGES))
def test_candidate_is_the_no_grad_student_config_plus_its_switches(name):
    def resolved(path):
        cfg = flat(Config.fromfile(str(path)).to_dict())
        return {k: v for k, v in cfg.items() if not k.startswith('_')}

    base = resolved(NO_GRAD_STUDENT)
    cfg = resolved(STUDY_CONFIGS / 'screening_efficiency' /
                   f'tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_{name}.py')
    changed = {k: cfg.get(k) for k in set(base) | set(cfg)
               if base.get(k) != cfg.get(k)}
    assert changed == CHANGES[name]


def test_screening_configs_refuse_wrong_views_and_no_token_drop():
    cfg = Config.fromfile(str(
        STUDY_CONFIGS / 'screening_efficiency' /
        'tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_sibling-views-4.py'))
    with pytest.raises(ValueError, match='the valid num_views is 4'):
        TRANSFORMS.build(dict(mask_generator_cfg(cfg), num_views=3))
    cfg.model.backbone.token_drop = False
    with pytest.raises(ValueError, match='token_drop=True'):
        MODELS.build(cfg.model)


def test_collapse_statistics_of_sibling_views_use_each_images_first_view():
    from tscae_mm.evaluation import pass_stats
    model = sibling_model().eval()
    images, samples = view_batch(num_images=3)
    stats = pass_stats(model, images, masks_of(samples))
    assert {'student_within_image_cos',
            'student_global_between_images_cos'} <= set(stats)
    assert all(math.isfinite(v) for v in stats.values())
