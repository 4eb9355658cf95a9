"""The training step is fast by construction: fused attention, no reads of
device values (host-device syncs), static shapes, and it runs under autocast
(bf16 on CPU, fp16 on GPU) and torch.compile with the eager results."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.overrides import TorchFunctionMode

import tscae_mm  # noqa: F401
from tscae_mm.datasets import ComplementaryMaskGenerator

ENCODER_LAYERS = 2
DECODER_LAYERS = 1
IMG_SIZE, PATCH_SIZE = 32, 8


def tscae_cfg(token_drop: bool, drop_path_rate: float = 0.) -> dict:
    return dict(
        type='TSCAE',
        backbone=dict(
            type='TSCAEViT',
            arch=dict(embed_dims=32, num_layers=ENCODER_LAYERS, num_heads=2,
                      feedforward_channels=64),
            img_size=IMG_SIZE,
            patch_size=PATCH_SIZE,
            masked_pretraining=True,
            token_drop=token_drop,
            drop_path_rate=drop_path_rate),
        neck=dict(
            type='TSCAETeacherDecoder',
            patch_resolution=IMG_SIZE // PATCH_SIZE,
            in_channels=32,
            embed_dims=32,
            num_layers=DECODER_LAYERS,
            num_heads=2),
        head=dict(type='TSCAEPixelHead', in_channels=32,
                  patch_size=PATCH_SIZE),
        contrast_head=dict(type='TSCAETokenContrastHead', embed_dims=32),
        global_head=dict(type='TSCAEGlobalConsistencyHead'))


def build(token_drop: bool = False, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = MODELS.build(tscae_cfg(token_drop, **kwargs))
    model.init_weights()
    return model.train()


def make_batch(num_images: int = 4, seed: int = 0):
    """Random images and data samples with the pipeline's numpy masks."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = ComplementaryMaskGenerator(IMG_SIZE, PATCH_SIZE, 0.75)
    samples = []
    for _ in range(num_images):
        sample = DataSample()
        sample.set_field(generator.transform({})['mask'], 'mask')
        samples.append(sample)
    return torch.randn(num_images, 3, IMG_SIZE, IMG_SIZE), samples


def total_loss(losses: dict) -> torch.Tensor:
    return sum(losses.values())


class CountAttention(TorchFunctionMode):
    """Counts calls of F.scaled_dot_product_attention."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.scaled_dot_product_attention:
            self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('token_drop', [False, True])
def test_every_attention_runs_fused(token_drop):
    """Encoder and decoder attend through scaled_dot_product_attention only.

    The reference runs both passes as one batch (one call per encoder
    layer); token-drop runs them separately. Each decoder layer has a self-
    and a cross-attention. The only softmaxes left are the global loss's.
    """
    model = build(token_drop)
    images, samples = make_batch()
    with CountAttention() as counter, torch.profiler.profile() as prof:
        model.loss(images, samples)
    passes = 2 if token_drop else 1
    assert counter.calls == passes * ENCODER_LAYERS + 2 * DECODER_LAYERS
    op_counts = {e.key: e.count for e in prof.key_averages()}
    assert op_counts.get('aten::_softmax', 0) == 1  # softmax(g_S)
    assert op_counts.get('aten::bmm', 0) == 0  # no unfused attention


@pytest.mark.parametrize('token_drop', [False, True])
def test_step_reads_no_device_value_and_has_static_shapes(token_drop):
    """The step runs with the model on the 'meta' device.

    Meta tensors have no values: ``.item()``, ``bool()``, boolean indexing,
    ``nonzero`` or ``masked_select`` on them raise. On a GPU each of those
    would be a host-device synchronisation or a data-dependent shape. Only
    the masks, which the pipeline keeps on the CPU, are read.
    """
    model = build(token_drop).to('meta')
    images, samples = make_batch()
    losses = model.loss(images.to('meta'), samples)
    total_loss(losses).backward()
    assert all(loss.device.type == 'meta' and loss.dim() == 0
               for loss in losses.values())
    assert model.backbone.cls_token.grad is not None
    assert model.backbone.layers[0].attn.qkv.weight.grad is not None


def test_drop_path_rates_are_python_floats():
    """Compilable rates (a numpy float breaks torch.compile's graph), with
    mmpretrain's linearly growing values kept."""
    model = build(drop_path_rate=0.2)
    rates = [m.drop_prob for m in model.backbone.modules()
             if isinstance(m, DropPath)]
    assert rates and all(type(rate) is float for rate in rates)
    assert max(rates) == pytest.approx(0.2) and min(rates) == 0.


def linear_output_dtypes(model, run):
    """dtypes of every nn.Linear output of the encoder and decoder."""
    dtypes = set()
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: dtypes.add(out.dtype))
        for part in (model.backbone, model.neck)
        for m in part.modules() if isinstance(m, torch.nn.Linear)
    ]
    try:
        result = run()
    finally:
        for hook in hooks:
            hook.remove()
    return dtypes, result


@pytest.mark.parametrize('token_drop', [False, True])
def test_bf16_autocast_on_cpu_trains_in_bf16_with_fp32_losses(token_drop):
    model = build(token_drop)
    images, samples = make_batch()
    fp32_losses = {k: v.detach() for k, v in model.loss(images,
                                                        samples).items()}

    def run():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return model.loss(images, samples)

    dtypes, losses = linear_output_dtypes(model, run)
    assert dtypes == {torch.bfloat16}
    for name, loss in losses.items():
        assert loss.dtype == torch.float32, name
        assert torch.isfinite(loss), name
        torch.testing.assert_close(loss.detach(), fp32_losses[name],
                                   atol=5e-2, rtol=5e-2)
    total_loss(losses).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 for g in grads)
    assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_fp16_autocast_on_gpu_with_grad_scaler():
    model = build().cuda()
    images, samples = make_batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler('cuda')
    with torch.autocast('cuda', dtype=torch.float16):
        losses = model.loss(images.cuda(), samples)
    assert all(torch.isfinite(loss) for loss in losses.values())
    scaler.scale(total_loss(losses)).backward()
    scaler.step(optimizer)
    scaler.update()
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_gpu_step_does_not_synchronise():
    model = build().cuda()
    images, samples = make_batch()
    images = images.cuda()
    total_loss(model.loss(images, samples)).backward()  # lazy inits
    torch.cuda.set_sync_debug_mode('error')
    try:
        total_loss(model.loss(images, samples)).backward()
    finally:
        torch.cuda.set_sync_debug_mode('default')


@pytest.mark.slow  # compiles the model: over a minute on 2 cores
def test_torch_compile_matches_eager_in_few_graphs():
    """THE one torch.compile of the suite (inductor on CPU, about a minute on
    two cores): same losses and gradients as eager, and the graph breaks only
    where the CPU mask is split into indices (no break per DropPath)."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager = build()
    compiled_model = copy.deepcopy(eager)
    images, samples = make_batch()

    eager_losses = eager.loss(images, samples)
    total_loss(eager_losses).backward()
    compiled_losses = torch.compile(compiled_model.loss)(images, samples)
    total_loss(compiled_losses).backward()

    for name in eager_losses:
        torch.testing.assert_close(compiled_losses[name], eager_losses[name],
                                   rtol=1e-4, atol=1e-5)
    for (name, p_eager), p_compiled in zip(eager.named_parameters(),
                                           compiled_model.parameters()):
        if p_eager.grad is None:
            assert p_compiled.grad is None, name
            continue
        torch.testing.assert_close(p_compiled.grad, p_eager.grad, rtol=1e-3,
                                   atol=1e-4, msg=name)
    reasons = list(torch._dynamo.utils.counters['graph_break'])
    assert reasons and all('Tensor.item()' in reason for reason in reasons)
