"""Benchmark the pre-training step of TSCAE (reference and token-drop) and MAE.

The three models are built on the same ViT, image size and batch, and timed in
ONE process, interleaved (one step of each model in turn per iteration) after
a warm-up, so that a change of machine load hits all three alike. For each
model it reports the training-step time (forward + backward + AdamW step),
images/s, the model FLOPs of one step (forward + backward, counted with
``torch.utils.flop_counter.FlopCounterMode``), the achieved FLOP/s and the
peak memory, then the ratios TSCAE / MAE and token-drop / reference, and
writes every figure with a description of the machine to a JSON file.

Peak memory is the growth above the state before the model was built, over
building it and a few training steps (weights, gradients, AdamW state,
activations and workspace):

- CUDA: ``torch.cuda.max_memory_allocated``, in this process.
- CPU: torch exposes no peak of its CPU allocator, so each model is measured
  in a forked child process as the peak resident set size (``VmHWM`` of
  ``/proc/self/status``, reset through ``/proc/self/clear_refs``) minus the
  resident size before the model was built.

Also reported: the bytes of the tensors autograd saves for the backward pass
(activations; unique storages, parameters excluded), which is exact and the
same on every device.

Its command line is ``tools/benchmark_pretrain.py``, which sets
``OMP_WAIT_POLICY=PASSIVE`` (unless the caller set it) before torch loads;
examples::

    python tools/benchmark_pretrain.py --quick
    python tools/benchmark_pretrain.py --arch small --img-size 224 --batch 8 \
        --iters 10 --warmup 2 --out docs/speed/cpu_vit-small_224_b8.json

It reads the TSCAE model config ``--model-config`` (default: the ViT-B/16
model base of the repository's configs, relative to the current directory)
and writes under ``work_dirs/`` unless ``--out`` says otherwise: run it from
the repository root.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Dict, List, Optional

import mmpretrain
import numpy as np
import torch
from mmcv.cnn.bricks.drop import DropPath
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.utils.flop_counter import (
    FlopCounterMode,
    sdpa_backward_flop_count,
    sdpa_flop_count,
)

from tscae_mm.datasets import ComplementaryMaskGenerator

MODEL_NAMES = ('tscae_reference', 'tscae_token_drop', 'mae')
ARCHS = {
    'tiny': 'deit-tiny',  # ViT-Ti/16: 192 wide, 12 layers, 3 heads
    'small': 'deit-small',  # ViT-S/16: 384 wide, 12 layers, 6 heads
    'base': 'b',  # ViT-B/16: 768 wide, 12 layers, 12 heads
    'large': 'l',  # ViT-L/16: 1024 wide, 24 layers, 16 heads
}
# this project's TSCAE model config (resized to the benchmark's ViT)
TSCAE_MODEL_CONFIG = Path('configs/_base_/models/tscae_vit-base-p16.py')
MAE_MODEL_CONFIG = (Path(mmpretrain.__file__).parent /
                    '.mim/configs/_base_/models/mae_vit-base-p16.py')
QUICK_SETTINGS = dict(
    arch='tiny', img_size=32, patch_size=8, batch=4, iters=3, warmup=1)
MASK_RATIO = 0.75


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time TSCAE (reference and token-drop) against '
        "mmpretrain's MAE on the same ViT, image size and batch.")
    parser.add_argument(
        '--arch', default='small', choices=[*ARCHS, 'custom'],
        help='ViT size: tiny (ViT-Ti), small (ViT-S), base (ViT-B), large '
        '(ViT-L), or custom (give --embed-dims, --num-layers, --num-heads).')
    parser.add_argument('--embed-dims', type=int, help='custom arch width')
    parser.add_argument('--num-layers', type=int, help='custom arch depth')
    parser.add_argument('--num-heads', type=int, help='custom arch heads')
    parser.add_argument(
        '--mlp-ratio', type=float, default=4.,
        help='custom arch FFN width / embed dims (default 4)')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--batch', type=int, default=8, help='images per step')
    parser.add_argument(
        '--iters', type=int, default=10,
        help='timed iterations (each runs one step of every model)')
    parser.add_argument(
        '--warmup', type=int, default=2,
        help='untimed steps of every model before timing')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu',
        help='cpu, cuda or cuda:N (default: cuda when available)')
    parser.add_argument(
        '--amp-dtype', default='none', choices=['none', 'bf16', 'fp16'],
        help='autocast dtype of the forward pass; fp16 is GPU only')
    parser.add_argument(
        '--compile', action='store_true',
        help='torch.compile each model\'s loss function (slow to compile on '
        'CPU)')
    parser.add_argument(
        '--tscae-decoder-layers', type=int, default=6,
        help='TSCAE teacher decoder depth (reference and configs: 6)')
    parser.add_argument(
        '--model-config', type=Path, default=TSCAE_MODEL_CONFIG,
        help='the TSCAE model config whose model is resized to the '
        "benchmark's ViT (default: %(default)s)")
    parser.add_argument(
        '--mae-decoder', default='mmpretrain', choices=['mmpretrain',
                                                        'matched'],
        help="mmpretrain: MAE's own decoder (512 wide, 8 layers, 16 heads, "
        "as in this project's MAE configs); matched: MAE's decoder at the "
        "TSCAE decoder's width, depth and heads")
    parser.add_argument(
        '--threads', type=int,
        help='torch intra-op threads (default: torch\'s default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--no-memory', action='store_true', help='skip the peak-memory pass')
    parser.add_argument(
        '--quick', action='store_true',
        help='a run of well under a minute on CPU: ' + ', '.join(
            f'{k}={v}' for k, v in QUICK_SETTINGS.items()) +
        ' (overrides those options)')
    parser.add_argument(
        '--out', type=Path,
        help='JSON file to write (default: work_dirs/benchmark_pretrain/'
        '<settings>.json)')
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK_SETTINGS.items():
            setattr(args, key, value)
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """Reject inconsistent options with a message that says how to fix them."""
    custom = (args.embed_dims, args.num_layers, args.num_heads)
    if args.arch == 'custom' and None in custom:
        parser.error('--arch custom needs --embed-dims, --num-layers and '
                     '--num-heads.')
    if args.arch != 'custom' and any(v is not None for v in custom):
        parser.error('--embed-dims / --num-layers / --num-heads only apply '
                     'to --arch custom.')
    if args.img_size % args.patch_size:
        parser.error(f'--img-size {args.img_size} is not a multiple of '
                     f'--patch-size {args.patch_size}.')
    for name in ('batch', 'iters', 'tscae_decoder_layers'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1.')
    if args.warmup < 0:
        parser.error('--warmup must be 0 or more.')
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available here; '
                     'use --device cpu.')
    if args.amp_dtype == 'fp16' and device.type != 'cuda':
        parser.error('--amp-dtype fp16 needs a GPU; on CPU use --amp-dtype '
                     'bf16.')


def vit_arch(args: argparse.Namespace) -> dict:
    """The encoder as an explicit dict (embed_dims, num_layers, ...)."""
    if args.arch == 'custom':
        return dict(
            embed_dims=args.embed_dims,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            feedforward_channels=int(args.embed_dims * args.mlp_ratio))
    return dict(VisionTransformer.arch_zoo[ARCHS[args.arch]])


def tscae_config(args: argparse.Namespace, token_drop: bool) -> dict:
    """This project's TSCAE model config, resized to the benchmark's ViT.

    Decoder policy of the configs: the encoder's width and heads, 6 layers.
    """
    arch = vit_arch(args)
    dims, heads = arch['embed_dims'], arch['num_heads']
    cfg = Config.fromfile(str(args.model_config)).model
    cfg.backbone.update(
        arch=arch, img_size=args.img_size, patch_size=args.patch_size,
        token_drop=token_drop)
    cfg.neck.update(
        patch_resolution=args.img_size // args.patch_size, in_channels=dims,
        embed_dims=dims, num_heads=heads,
        num_layers=args.tscae_decoder_layers)
    cfg.head.update(in_channels=dims, patch_size=args.patch_size)
    cfg.contrast_head.update(embed_dims=dims)
    return cfg.to_dict()


def mae_config(args: argparse.Namespace) -> dict:
    """mmpretrain's MAE model config, resized to the benchmark's ViT."""
    arch = vit_arch(args)
    cfg = Config.fromfile(str(MAE_MODEL_CONFIG)).model
    cfg.backbone.update(
        arch=arch, img_size=args.img_size, patch_size=args.patch_size,
        mask_ratio=MASK_RATIO)
    cfg.neck.update(
        num_patches=(args.img_size // args.patch_size)**2,
        patch_size=args.patch_size, embed_dim=arch['embed_dims'])
    if args.mae_decoder == 'matched':
        cfg.neck.update(
            decoder_embed_dim=arch['embed_dims'],
            decoder_depth=args.tscae_decoder_layers,
            decoder_num_heads=arch['num_heads'])
    cfg.head.update(patch_size=args.patch_size)
    return cfg.to_dict()


def model_configs(args: argparse.Namespace) -> Dict[str, dict]:
    return {
        'tscae_reference': tscae_config(args, token_drop=False),
        'tscae_token_drop': tscae_config(args, token_drop=True),
        'mae': mae_config(args),
    }


def describe_comparison(configs: Dict[str, dict]) -> str:
    """One paragraph saying exactly what is compared."""
    enc = configs['tscae_reference']['backbone']
    dec = configs['tscae_reference']['neck']
    mae_dec = configs['mae']['neck']
    return (
        f"Encoder ViT {enc['arch']}, {enc['img_size']} px, patch "
        f"{enc['patch_size']}, mask ratio {MASK_RATIO}. TSCAE reference: "
        'teacher and student passes at full length (one 2N batch), '
        f"decoder {dec['num_layers']} layers x {dec['embed_dims']} wide, "
        f"{dec['num_heads']} heads. TSCAE token-drop: teacher on cls + V, "
        'student on cls + M, same decoder. MAE (mmpretrain MAEViT + '
        'MAEPretrainDecoder + MAEPretrainHead): encoder on cls + V, decoder '
        f"{mae_dec['decoder_depth']} layers x {mae_dec['decoder_embed_dim']} "
        f"wide, {mae_dec['decoder_num_heads']} heads, on all patches. Step = "
        'forward + backward + AdamW step.')


def build_model(cfg: dict, device: torch.device, seed: int):
    """Build, initialise and put in training mode one model and its AdamW."""
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    model.to(device).train()
    store_drop_path_rates_as_floats(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    return model, optimizer


def store_drop_path_rates_as_floats(model: torch.nn.Module) -> None:
    """Python-float stochastic-depth rates, so that torch.compile does not
    break MAE's graph at every DropPath (TSCAEViT already stores floats)."""
    for module in model.modules():
        if isinstance(module, DropPath):
            module.drop_prob = float(module.drop_prob)


def make_batches(args: argparse.Namespace, device: torch.device,
                 count: int = 4) -> List[tuple]:
    """``count`` batches of (images, data samples with complementary masks).

    The images are random normalised pixels on ``device``; the masks are
    drawn by the pipeline's :class:`ComplementaryMaskGenerator` and stay on
    the CPU as numpy arrays, as the data loader hands them over.
    """
    generator = ComplementaryMaskGenerator(
        input_size=args.img_size, patch_size=args.patch_size,
        mask_ratio=MASK_RATIO)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    batches = []
    for _ in range(count):
        images = torch.randn(args.batch, 3, args.img_size, args.img_size,
                             device=device)
        samples = []
        for _ in range(args.batch):
            sample = DataSample()
            sample.set_field(generator.transform({})['mask'], 'mask')
            samples.append(sample)
        batches.append((images, samples))
    return batches


class TrainStep:
    """One training step of a model: forward, backward, AdamW step.

    Args:
        model (BaseSelfSupervisor): The model, in training mode.
        optimizer (Optimizer): Its optimizer.
        amp_dtype (torch.dtype, optional): Autocast dtype of the forward.
        compile_loss (bool): Run the loss function through torch.compile.
    """

    def __init__(self, model, optimizer, amp_dtype: Optional[torch.dtype],
                 compile_loss: bool) -> None:
        self.model = model
        self.optimizer = optimizer
        self.device_type = next(model.parameters()).device.type
        self.amp_dtype = amp_dtype
        self.loss_fn = (
            torch.compile(model.loss) if compile_loss else model.loss)
        self.scaler = (
            torch.amp.GradScaler(self.device_type)
            if amp_dtype == torch.float16 else None)

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.amp_dtype)

    def forward_backward(self, images: torch.Tensor,
                         samples: List[DataSample]) -> torch.Tensor:
        """Zero the gradients, compute the summed loss and back-propagate."""
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            losses = self.loss_fn(images, samples)
        loss = sum(losses.values())
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()
        return loss

    def __call__(self, images: torch.Tensor,
                 samples: List[DataSample]) -> None:
        self.forward_backward(images, samples)
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def cpu_flash_attention_flops() -> Dict[Callable, Callable]:
    """FLOP formulas for the CPU fused attention kernels.

    ``FlopCounterMode`` knows the CUDA attention kernels but not the ones
    ``scaled_dot_product_attention`` runs on the CPU; without these the
    attention matmuls would be missing from CPU counts.
    """
    aten = torch.ops.aten
    if not hasattr(aten, '_scaled_dot_product_flash_attention_for_cpu'):
        return {}

    def forward(query_shape, key_shape, value_shape, *args, **kwargs):
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    def backward(grad_out_shape, query_shape, key_shape, value_shape, *args,
                 **kwargs):
        return sdpa_backward_flop_count(grad_out_shape, query_shape,
                                        key_shape, value_shape)

    return {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
    }


class SavedActivations:
    """Bytes of the tensors autograd saves for backward (unique storages).

    Parameters (saved by linear layers for their input gradients) are left
    out: they exist anyway.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.param_storages = {
            p.untyped_storage().data_ptr()
            for p in model.parameters()
        }
        self.storages = {}

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key not in self.param_storages:
            self.storages[key] = storage.nbytes()
        return tensor

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(
            self.pack, lambda tensor: tensor)

    @property
    def total_bytes(self) -> int:
        return sum(self.storages.values())


def count_step(step: TrainStep, batch: tuple) -> dict:
    """FLOPs (forward + backward) per module and saved-activation bytes."""
    saved = SavedActivations(step.model)
    counter = FlopCounterMode(
        display=False, custom_mapping=cpu_flash_attention_flops())
    eager = TrainStep(step.model, step.optimizer, step.amp_dtype, False)
    with counter, saved.hooks():
        eager.forward_backward(*batch)
    step.optimizer.zero_grad(set_to_none=True)
    return dict(
        flops_per_step=counter.get_total_flops(),
        flops_by_part=split_flops(counter, step.model),
        saved_activation_bytes=saved.total_bytes)


def split_flops(counter: FlopCounterMode, model) -> Dict[str, int]:
    """Step FLOPs of the encoder, the decoder and the rest (heads, losses).

    The self-supervisors call their parts directly, so the counter files
    each part under its class name. MAE's decoder includes its pixel
    projection; TSCAE's pixel and contrast predictors count as heads.
    """
    per_module = counter.get_flop_counts()

    def total(module) -> int:
        return sum(per_module.get(type(module).__name__, {}).values())

    encoder, decoder = total(model.backbone), total(model.neck)
    return dict(
        encoder=encoder,
        decoder=decoder,
        heads=counter.get_total_flops() - encoder - decoder)


def read_status_kib(field: str) -> int:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'/proc/self/status has no {field}')


def reset_peak_rss() -> None:
    """Make VmHWM restart from the current resident size (Linux >= 4.0)."""
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')


def warm_kernels(device: torch.device) -> None:
    """Run the kinds of kernels a step uses once, so that their one-off
    library set-up is not charged to the first model measured."""
    x = torch.randn(4, 2, 16, 8, device=device, requires_grad=True)
    y = torch.nn.functional.scaled_dot_product_attention(x, x, x)
    torch.nn.functional.gelu(y @ x.transpose(-1, -2)).sum().backward()


def measure_cpu_peak_memory(cfg: dict, args: argparse.Namespace,
                            amp_dtype: Optional[torch.dtype]) -> int:
    """Peak RSS growth of building and training one model, in a fork."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: measure, report through the pipe, leave at once
        os.close(read_end)
        code = 0
        try:
            warm_kernels(torch.device('cpu'))
            reset_peak_rss()
            baseline = read_status_kib('VmRSS')
            run_memory_steps(cfg, args, torch.device('cpu'), amp_dtype)
            message = str((read_status_kib('VmHWM') - baseline) * 1024)
        except BaseException as error:  # noqa: B902  report, do not raise
            message = f'error: {error!r}'
            code = 1
        os.write(write_end, message.encode())
        os.close(write_end)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    if message.startswith('error'):
        raise RuntimeError(f'peak-memory child failed: {message}')
    return int(message)


def measure_cuda_peak_memory(cfg: dict, args: argparse.Namespace,
                             device: torch.device,
                             amp_dtype: Optional[torch.dtype]) -> int:
    """Peak growth of CUDA allocated memory over building and training."""
    synchronize(device)
    torch.cuda.empty_cache()
    baseline = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    run_memory_steps(cfg, args, device, amp_dtype)
    synchronize(device)
    return torch.cuda.max_memory_allocated(device) - baseline


def run_memory_steps(cfg: dict, args: argparse.Namespace,
                     device: torch.device,
                     amp_dtype: Optional[torch.dtype]) -> None:
    """Build a model and run a few steps (AdamW state exists after one)."""
    model, optimizer = build_model(cfg, device, args.seed)
    step = TrainStep(model, optimizer, amp_dtype, args.compile)
    for images, samples in make_batches(args, device, count=2):
        step(images, samples)


def measure_peak_memory(configs: Dict[str, dict], args: argparse.Namespace,
                        device: torch.device,
                        amp_dtype: Optional[torch.dtype]) -> dict:
    """Peak memory of each model, measured alone; see the module docstring."""
    peaks = {}
    for name, cfg in configs.items():
        progress(f'[memory] {name} ...')
        if device.type == 'cuda':
            peaks[name] = measure_cuda_peak_memory(cfg, args, device,
                                                   amp_dtype)
        else:
            peaks[name] = measure_cpu_peak_memory(cfg, args, amp_dtype)
    method = ('cuda max_memory_allocated growth (in process)'
              if device.type == 'cuda' else
              'peak RSS growth (VmHWM - VmRSS before building), forked child '
              'per model')
    return dict(peaks=peaks, method=method)


START_TIME = time.perf_counter()


def progress(message: str) -> None:
    """Print a progress line with the seconds since start, on stderr."""
    elapsed = time.perf_counter() - START_TIME
    print(f'[{elapsed:6.1f}s] {message}', file=sys.stderr, flush=True)


def time_interleaved(steps: Dict[str, TrainStep], batches: List[tuple],
                     args: argparse.Namespace,
                     device: torch.device) -> Dict[str, List[float]]:
    """Warm up, then time one step of each model per iteration, in turn."""
    for i in range(args.warmup):
        for name, step in steps.items():
            step(*batches[i % len(batches)])
        progress(f'[warm-up] {i + 1}/{args.warmup}')
    times = {name: [] for name in steps}
    for i in range(args.iters):
        batch = batches[i % len(batches)]
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step(*batch)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
        progress(f'[timing] {i + 1}/{args.iters}: ' + ', '.join(
            f'{name} {t[-1]:.3f}s' for name, t in times.items()))
    return times


def machine_info(device: torch.device) -> dict:
    info = dict(
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        mmpretrain=mmpretrain.__version__,
        device=str(device),
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def load_average() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def summarise(name: str, model, times: List[float], counts: dict,
              memory: Optional[dict], batch: int) -> dict:
    median = statistics.median(times)
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(
            p.numel() for p in model.parameters() if p.requires_grad),
        step_time_s=dict(
            median=median, mean=statistics.fmean(times), min=min(times),
            max=max(times), all=times),
        images_per_s=batch / median,
        flops_per_step=counts['flops_per_step'],
        flops_per_image=counts['flops_per_step'] / batch,
        flops_by_part=counts['flops_by_part'],
        achieved_flops_per_s=counts['flops_per_step'] / median,
        saved_activation_bytes=counts['saved_activation_bytes'],
        peak_memory_bytes=None if memory is None else memory['peaks'][name])


RATIO_FIELDS = ('images_per_s', 'flops_per_image', 'achieved_flops_per_s',
                'peak_memory_bytes', 'saved_activation_bytes')


def ratios(models: Dict[str, dict]) -> Dict[str, Dict[str, float]]:
    """Figure ratios of the pairs users compare."""
    pairs = {
        'tscae_reference/mae': ('tscae_reference', 'mae'),
        'tscae_token_drop/mae': ('tscae_token_drop', 'mae'),
        'tscae_token_drop/tscae_reference': ('tscae_token_drop',
                                             'tscae_reference'),
    }
    result = {}
    for pair, (top, bottom) in pairs.items():
        result[pair] = {
            field: models[top][field] / models[bottom][field]
            for field in RATIO_FIELDS
            if models[top][field] is not None and models[bottom][field]
        }
        for part in ('encoder', 'decoder'):
            top_flops = models[top]['flops_by_part'][part]
            bottom_flops = models[bottom]['flops_by_part'][part]
            if bottom_flops:
                result[pair][f'{part}_flops'] = top_flops / bottom_flops
    return result


def targets(ratio: Dict[str, Dict[str, float]]) -> Dict[str, dict]:
    """The issue's targets, with the measured value and whether it is met."""
    checks = {
        'tscae_reference achieved FLOP/s >= 0.9 x MAE':
        (ratio['tscae_reference/mae'].get('achieved_flops_per_s'), 0.9, '>='),
        'tscae_token_drop achieved FLOP/s >= 0.9 x MAE':
        (ratio['tscae_token_drop/mae'].get('achieved_flops_per_s'), 0.9,
         '>='),
        'token-drop images/s >= 1.8 x reference':
        (ratio['tscae_token_drop/tscae_reference'].get('images_per_s'), 1.8,
         '>='),
        'token-drop peak memory <= 1.5 x MAE':
        (ratio['tscae_token_drop/mae'].get('peak_memory_bytes'), 1.5, '<='),
    }
    result = {}
    for label, (value, bound, sense) in checks.items():
        met = None
        if value is not None:
            met = value >= bound if sense == '>=' else value <= bound
        result[label] = dict(value=value, met=met)
    return result


def format_table(models: Dict[str, dict], ratio: dict, target: dict) -> str:
    header = (f"{'model':<18}{'step ms':>10}{'img/s':>9}{'GFLOP/img':>11}"
              f"{'GFLOP/s':>9}{'peak MiB':>10}{'saved MiB':>11}"
              f"{'params M':>10}")
    lines = [header, '-' * len(header)]
    for name, m in models.items():
        peak = ('n/a' if m['peak_memory_bytes'] is None else
                f"{m['peak_memory_bytes'] / 2**20:.0f}")
        lines.append(
            f"{name:<18}{m['step_time_s']['median'] * 1e3:>10.1f}"
            f"{m['images_per_s']:>9.2f}{m['flops_per_image'] / 1e9:>11.3f}"
            f"{m['achieved_flops_per_s'] / 1e9:>9.1f}{peak:>10}"
            f"{m['saved_activation_bytes'] / 2**20:>11.1f}"
            f"{m['params'] / 1e6:>10.2f}")
    lines.append('')
    lines.append(f"{'ratio':<34}" + ''.join(
        f'{field:>14}' for field in ('img/s', 'FLOP/img', 'FLOP/s', 'peak mem',
                                     'saved mem', 'encoder FLOP',
                                     'decoder FLOP')))
    for pair, values in ratio.items():
        cells = [
            values.get(field)
            for field in (*RATIO_FIELDS, 'encoder_flops', 'decoder_flops')
        ]
        lines.append(f'{pair:<34}' + ''.join(
            f'{"n/a" if v is None else f"{v:.3f}":>14}' for v in cells))
    lines.append('')
    for label, check in target.items():
        state = {True: 'met', False: 'NOT met', None: 'not measured'}
        value = check['value']
        shown = 'n/a' if value is None else f'{value:.3f}'
        lines.append(f"target {label}: {shown} ({state[check['met']]})")
    return '\n'.join(lines)


def default_out(args: argparse.Namespace) -> Path:
    amp = '' if args.amp_dtype == 'none' else f'_{args.amp_dtype}'
    tag = (f'{torch.device(args.device).type}_{args.arch}_{args.img_size}px'
           f'_p{args.patch_size}_b{args.batch}{amp}'
           f"{'_compile' if args.compile else ''}")
    return Path('work_dirs', 'benchmark_pretrain', f'{tag}.json')


def main(argv=None) -> dict:
    args = parse_args(argv)
    # Keep the weight-initialisation log of the three models off the output.
    MMLogger.get_instance('benchmark_pretrain', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp_dtype = {'none': None, 'bf16': torch.bfloat16,
                 'fp16': torch.float16}[args.amp_dtype]
    configs = model_configs(args)
    load_before = load_average()
    progress(describe_comparison(configs))

    # Memory first: on CPU the children are forked before this process has
    # run any parallel kernel.
    memory = None if args.no_memory else measure_peak_memory(
        configs, args, device, amp_dtype)

    steps = {}
    for name, cfg in configs.items():
        model, optimizer = build_model(cfg, device, args.seed)
        steps[name] = TrainStep(model, optimizer, amp_dtype, args.compile)
    batches = make_batches(args, device)
    progress('[flops] counting one step per model ...')
    counts = {name: count_step(step, batches[0]) for name, step in
              steps.items()}
    times = time_interleaved(steps, batches, args, device)

    models = {
        name: summarise(name, steps[name].model, times[name], counts[name],
                        memory, args.batch)
        for name in steps
    }
    ratio = ratios(models)
    target = targets(ratio)
    report = dict(
        compared=describe_comparison(configs),
        settings={k: str(v) if isinstance(v, Path) else v
                  for k, v in vars(args).items()},
        machine=dict(machine_info(device), load_average_before=load_before,
                     load_average_after=load_average()),
        memory_method=None if memory is None else memory['method'],
        flops_method=('torch.utils.flop_counter.FlopCounterMode over one '
                      'forward + backward (matmuls, convolutions, attention; '
                      'element-wise ops and the optimizer are not counted)'),
        models=models,
        ratios=ratio,
        targets=target)
    print(format_table(models, ratio, target))
    out = args.out or default_out(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {out}')
    return report
