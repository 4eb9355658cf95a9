"""The anti-collapse switches: what each computes, and that the reference's
defaults are unchanged by them."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.registry import MODELS
from test_tscae_model import batch, tiny_cfg


def build(**overrides):
    cfg = tiny_cfg(token_drop=overrides.pop('token_drop', False))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = dict(cfg[key], **value)
        else:
            cfg[key] = value
    model = MODELS.build(cfg)
    model.init_weights()
    return model


@pytest.fixture
def max_iters():
    """CosineEMA reads the run's length from the message hub."""
    hub = MessageHub.get_current_instance()
    hub.update_info('max_iters', 100)
    yield 100


def masks_of(samples):
    return torch.from_numpy(np.stack([s.mask for s in samples]))


# ------------------------------------------------------------ momentum target
@pytest.mark.parametrize('token_drop', [False, True])
def test_momentum_target_starts_equal_and_runs_the_student_pass(
        token_drop, max_iters):
    model = build(token_drop=token_drop, target_momentum=0.25,
                  target_end_momentum=0.25)
    target = model.target_encoder.module
    for (name, online), copy in zip(model.backbone.named_parameters(),
                                    target.parameters()):
        assert torch.equal(online, copy), name
        assert not copy.requires_grad
    images, samples = batch()
    # move the online encoder away from the copy
    with torch.no_grad():
        for param in model.backbone.parameters():
            param.add_(0.1)
    mask = masks_of(samples)
    out = model.backbone(images, mask, student_encoder=target)
    plain = model.backbone(images, mask)
    # the teacher side is the online encoder's; the student side the copy's
    torch.testing.assert_close(out.teacher_visible, plain.teacher_visible)
    assert not torch.allclose(out.student_masked, plain.student_masked)
    assert not out.student_masked.requires_grad
    assert not out.student_global.requires_grad
    assert out.teacher_visible.requires_grad


def test_momentum_update_is_cosine_ema(max_iters):
    model = build(target_momentum=0.25, target_end_momentum=0.25)
    images, samples = batch()
    model.loss(images, samples)  # first update: copies the encoder
    assert int(model.target_encoder.steps) == 1
    before = model.target_encoder.module.layers[0].attn.qkv.weight.clone()
    with torch.no_grad():
        model.backbone.layers[0].attn.qkv.weight.add_(1.)
    online = model.backbone.layers[0].attn.qkv.weight.clone()
    model.loss(images, samples)
    after = model.target_encoder.module.layers[0].attn.qkv.weight
    torch.testing.assert_close(after, 0.75 * before + 0.25 * online)


def test_momentum_target_keeps_student_pass_out_of_the_graph(max_iters):
    model = build(target_momentum=0.01, target_end_momentum=0.01)
    assert not model.backbone.visible_token.requires_grad
    images, samples = batch()
    losses = model.loss(images, samples)
    sum(losses.values()).backward()
    trained = {
        name
        for name, p in model.named_parameters() if p.grad is not None
    }
    assert 'backbone.layers.0.attn.qkv.weight' in trained
    assert 'backbone.visible_token' not in trained
    assert not any(name.startswith('target_encoder') for name in trained)
    # the checkpoint holds the copy beside the encoder
    state = model.state_dict()
    assert 'target_encoder.module.layers.0.attn.qkv.weight' in state
    assert 'target_encoder.steps' in state


@pytest.mark.parametrize('token_drop', [False, True])
def test_untrained_student_pass_runs_without_gradient_same_losses(
        token_drop):
    """One-way contrast + stop-gradient global target: no loss trains the
    student pass, so it runs without a graph, with the same losses and
    gradients as the one-batch passes."""
    switches = dict(
        token_drop=token_drop,
        contrast_head=dict(symmetric=False),
        global_head=dict(stop_grad_target=True, center_momentum=0.9))
    model = build(**switches)
    assert not model.student_pass_trained
    assert model.student_encoder() is model.backbone
    if not token_drop:
        assert not model.backbone.visible_token.requires_grad
    images, samples = batch()
    torch.manual_seed(1)
    fast = model.loss(images, samples)
    sum(fast.values()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad()
    model.global_head.center.zero_()
    model.student_encoder = lambda: None  # the one-batch passes
    torch.manual_seed(1)
    slow = model.loss(images, samples)
    sum(slow.values()).backward()
    for key in fast:
        torch.testing.assert_close(fast[key], slow[key], rtol=1e-4,
                                   atol=1e-5)
    for name, grad in grads.items():
        torch.testing.assert_close(
            grad, model.get_parameter(name).grad, rtol=1e-3, atol=1e-6)


def test_bad_momentum_is_explained():
    with pytest.raises(ValueError, match='target_momentum=0.01'):
        build(target_momentum=0.99 + 1)
    with pytest.raises(ValueError, match='target_momentum=0.01'):
        build(target_momentum=0.)


# ------------------------------------------------------------ token contrast
def test_one_sided_contrast_predicts_only_the_student():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='TSCAETokenContrastHead', embed_dims=16, symmetric=False))
    decoded = torch.randn(3, 5, 16, requires_grad=True)
    student = torch.randn(3, 5, 16, requires_grad=True)
    head.eval()  # fixed BatchNorm statistics for the formula
    expected = -F.cosine_similarity(
        head.predict(decoded), student, dim=-1).mean()
    torch.testing.assert_close(head.loss(decoded, student), expected)
    head.train()
    head.loss(decoded, student).backward()
    assert student.grad is None  # nothing pulls the student
    assert decoded.grad.abs().sum() > 0


def test_centred_targets_ignore_what_an_image_shares():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='TSCAETokenContrastHead', embed_dims=16, symmetric=False,
             center_targets=True)).eval()
    decoded, student = torch.randn(2, 6, 16), torch.randn(2, 6, 16)
    shared = torch.randn(2, 1, 16) * 10  # one vector per image on top
    torch.testing.assert_close(
        head.loss(decoded, student + shared), head.loss(decoded, student))
    expected = -F.cosine_similarity(
        head.predict(decoded), student - student.mean(1, keepdim=True),
        dim=-1).mean()
    torch.testing.assert_close(head.loss(decoded, student), expected)


def test_symmetric_contrast_is_the_reference_formula():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='TSCAETokenContrastHead',
                             embed_dims=16)).eval()
    decoded, student = torch.randn(2, 4, 16), torch.randn(2, 4, 16)
    cos = lambda a, b: F.cosine_similarity(a, b, dim=-1).mean()  # noqa: E731
    expected = -0.5 * (cos(head.predict(decoded), student) +
                       cos(head.predict(student), decoded))
    torch.testing.assert_close(head.loss(decoded, student), expected)


# ------------------------------------------------------------ global target
def test_dino_global_target_centres_sharpens_and_stops_gradient():
    head = MODELS.build(
        dict(
            type='TSCAEGlobalConsistencyHead',
            temperature=0.1,
            target_temperature=0.04,
            stop_grad_target=True,
            center_momentum=0.9,
            embed_dims=6))
    torch.manual_seed(0)
    decoded = torch.randn(4, 6, requires_grad=True)
    student = torch.randn(4, 6, requires_grad=True)
    head.center.fill_(0.5)
    loss = head.loss(decoded, student)
    target = F.softmax((student - 0.5) / 0.04, dim=-1)
    expected = -(target * F.log_softmax(decoded / 0.1, -1)).sum(-1).mean()
    torch.testing.assert_close(loss, expected)
    # the center moved towards this batch's mean, after being used
    torch.testing.assert_close(
        head.center, 0.9 * 0.5 + 0.1 * student.detach().mean(0, True))
    loss.backward()
    assert student.grad is None and decoded.grad.abs().sum() > 0
    # evaluation does not move it
    center = head.center.clone()
    head.eval()
    head.loss(decoded, student)
    assert torch.equal(head.center, center)


def test_centering_keeps_one_channel_from_winning_for_every_image():
    """A g_S peaked on the same channel for all images: without a center
    the target is that channel for everyone; with a learned center it is
    not."""
    head = MODELS.build(
        dict(type='TSCAEGlobalConsistencyHead', stop_grad_target=True,
             center_momentum=0., target_temperature=0.1, embed_dims=4))
    student = torch.tensor([[5., 1., 0., 0.], [5., 0., 1., 0.]])
    head.loss(torch.zeros(2, 4), student)  # momentum 0: center = the mean
    target = F.softmax((student - head.center) / 0.1, -1)
    assert target[:, 0].max() < 0.01  # channel 0 no longer wins
    assert target[0].argmax() == 1 and target[1].argmax() == 2


def test_reference_global_loss_unchanged():
    head = MODELS.build(dict(type='TSCAEGlobalConsistencyHead'))
    assert not hasattr(head, 'center')
    decoded, student = torch.randn(3, 8), torch.randn(3, 8)
    expected = -(F.softmax(student, -1) *
                 F.log_softmax(decoded, -1)).sum(-1).mean()
    torch.testing.assert_close(head.loss(decoded, student), expected)


def test_bad_global_switches_raise():
    with pytest.raises(ValueError, match='target_temperature'):
        MODELS.build(dict(type='TSCAEGlobalConsistencyHead',
                          target_temperature=0.))
    with pytest.raises(ValueError, match='center_momentum'):
        MODELS.build(dict(type='TSCAEGlobalConsistencyHead',
                          center_momentum=1.))
    head = MODELS.build(dict(type='TSCAEGlobalConsistencyHead',
                             center_momentum=0.9, embed_dims=8))
    with pytest.raises(ValueError, match='embed_dims'):
        head.loss(torch.randn(2, 16), torch.randn(2, 16))
    with pytest.raises(ValueError, match='embed_dims'):
        MODELS.build(dict(type='TSCAEGlobalConsistencyHead',
                          center_momentum=0.9))


def test_tscae_gives_the_global_center_its_encoder_width():
    model = build(global_head=dict(stop_grad_target=True,
                                   center_momentum=0.9))
    assert model.global_head.center.shape == (1, 32)


# ------------------------------------------------------- variance/covariance
def test_variance_term_penalises_collapsed_tokens_only():
    reg = MODELS.build(
        dict(type='TokenVarianceCovarianceLoss', covariance_weight=0.))
    collapsed = torch.ones(4, 8, 16) * torch.randn(16)
    assert reg.loss(collapsed).item() == pytest.approx(
        1 - math.sqrt(1e-4), abs=1e-4)
    torch.manual_seed(0)
    spread = torch.randn(64, 8, 16) * 3
    assert reg.loss(spread).item() == 0.


def test_covariance_term_sees_redundant_channels():
    reg = MODELS.build(
        dict(type='TokenVarianceCovarianceLoss', variance_weight=0.,
             covariance_weight=1.))
    torch.manual_seed(0)
    independent = torch.randn(64, 16, 8)
    redundant = independent.clone()
    redundant[..., 1:] = redundant[..., :1]  # one channel copied 8 times
    assert reg.loss(redundant) > 20 * reg.loss(independent)


def test_expander_moves_the_terms_off_the_tokens():
    reg = MODELS.build(
        dict(type='TokenVarianceCovarianceLoss', in_channels=16,
             expander_dims=(32, 24)))
    assert [type(m).__name__ for m in reg.expander] == [
        'Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    assert reg.expander[-1].out_features == 24
    torch.manual_seed(0)
    tokens = torch.randn(8, 8, 16, requires_grad=True)
    loss = reg.loss(tokens)
    loss.backward()
    # the gradient reaches both the expander and the tokens through it
    assert reg.expander[0].weight.grad.abs().sum() > 0
    assert tokens.grad.abs().sum() > 0
    # collapsed tokens stay collapsed through the expander: penalised
    collapsed = (torch.ones(8, 8, 16) * torch.randn(16))
    reg.eval()  # running BN statistics, so equal inputs give equal outputs
    assert reg.loss(collapsed).item() > 0.9 * reg.variance_weight


@pytest.mark.parametrize('kwargs', [
    dict(expander_dims=(32, )),
    dict(in_channels=16, expander_dims=()),
    dict(in_channels=16, expander_dims=(32, 0)),
])
def test_expander_needs_its_widths(kwargs):
    with pytest.raises(ValueError, match='expander_dims'):
        MODELS.build(dict(type='TokenVarianceCovarianceLoss', **kwargs))


def test_token_regularizer_enters_the_losses(max_iters):
    model = build(token_regularizer=dict(type='TokenVarianceCovarianceLoss'))
    images, samples = batch()
    losses = model.loss(images, samples)
    assert set(losses) == {
        'loss_pixel', 'loss_contrast', 'loss_global', 'loss_token_reg'
    }
    losses['loss_token_reg'].backward()
    assert model.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0


def test_reference_model_has_no_switch_on():
    model = build()
    assert model.target_encoder is None and model.token_regularizer is None
    assert model.contrast_head.symmetric
    assert not model.global_head.stop_grad_target
    images, samples = batch()
    assert set(model.loss(images, samples)) == {
        'loss_pixel', 'loss_contrast', 'loss_global'
    }
