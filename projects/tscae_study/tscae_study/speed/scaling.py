"""Counts behind docs/scaling.md: FLOPs, saved activations and parameters
per image of TSCAE pre-training for ViT-S/B/L, and the time and memory they
imply for a stated GPU, GPU count and utilisation.

The counts are taken on PyTorch's ``meta`` device (shapes only, nothing is
computed, so ViT-L counts in seconds on any machine) with the counter of
``tools/benchmark_pretrain.py`` (``torch.utils.flop_counter``) on the same
model configs. Saved activations are the tensors autograd keeps for
backward during the forward (unique storages, parameters excluded, float32).

Estimates (all arithmetic is printed and stored in the JSON):

- time = FLOPs/image x images x epochs / (GPUs x peak FLOP/s x
  utilisation); with checkpointing the counted FLOPs already include the
  blocks' forward run again in backward;
- model state per GPU = 16 bytes per parameter (float32 weights and
  gradients, AdamW's two moments; AMP keeps float32 masters), divided by the
  GPU count under FSDP FULL_SHARD;
- activations per GPU = saved bytes/image x images per GPU.

    python tools/scaling_estimates.py --out docs/speed/scaling_counts.json

The TSCAE model config is ``tools/benchmark_pretrain.py``'s
(``--model-config``, relative to the current directory): run it from the
repository root.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict

import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from .pretrain import (
    TSCAE_MODEL_CONFIG,
    TrainStep,
    count_step,
    make_batches,
    store_drop_path_rates_as_floats,
    tscae_config,
)
from .pretrain import parse_args as pretrain_args

ARCH_NAMES = ('small', 'base', 'large', 'huge')
# tools/benchmark_pretrain.py's options for each ViT; ViT-H/14 (no config
# of this project yet) as a custom arch: 1280 wide, 32 layers, 16 heads
ARCH_OPTIONS = {
    'small': ['--arch', 'small'],
    'base': ['--arch', 'base'],
    'large': ['--arch', 'large'],
    'huge': ['--arch', 'custom', '--embed-dims', '1280', '--num-layers',
             '32', '--num-heads', '16', '--patch-size', '14'],
}
MODES = ('reference', 'recommended', 'token_drop')
DATASETS = {'coco': 118_287, 'tiny-imagenet': 100_000}
BYTES_PER_PARAM = 16  # fp32 weight + grad + AdamW exp_avg + exp_avg_sq


def saved_bytes_on_meta(model, step, batch) -> int:
    """Saved-for-backward bytes of one forward, unique storages, parameters
    excluded: on ``meta`` storages have no address, so they are told apart
    by their C++ storage object."""
    params = {p.untyped_storage()._cdata for p in model.parameters()}
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage._cdata not in params:
            storages[storage._cdata] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step.forward_backward(*batch)
    return sum(storages.values())


def count(arch: str, mode: str, with_cp: bool, model_config: Path,
          batch: int = 2) -> dict:
    """Per-image counts of one model (forward + backward)."""
    args = pretrain_args([
        *ARCH_OPTIONS[arch], '--batch',
        str(batch), '--model-config',
        str(model_config)
    ])
    cfg = tscae_config(args, token_drop=mode == 'token_drop')
    if mode == 'recommended':  # the one-way token contrast
        cfg['contrast_head']['symmetric'] = False
    cfg['backbone']['with_cp'] = with_cp
    with torch.device('meta'):
        model = MODELS.build(cfg).train()
    store_drop_path_rates_as_floats(model)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad])
    step = TrainStep(model, optimizer, None, False)
    batch_data = make_batches(args, torch.device('meta'), count=1)[0]
    counts = count_step(step, batch_data)
    saved = saved_bytes_on_meta(model, step, batch_data)
    return dict(
        gflop_per_image=counts['flops_per_step'] / batch / 1e9,
        gflop_per_image_by_part={
            k: v / batch / 1e9
            for k, v in counts['flops_by_part'].items()
        },
        saved_activation_mib_per_image=saved / batch / 2**20,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6)


def estimate(counts: dict, gpus: int, peak_tflops: float, utilisation: float,
             epochs: int, batch_per_gpu: int) -> dict:
    """Days per data set, and memory per GPU with DDP and FSDP."""
    flops = counts['gflop_per_image'] * 1e9  # recomputation counted
    rate = gpus * peak_tflops * 1e12 * utilisation
    days = {
        name: flops * images * epochs / rate / 86400
        for name, images in DATASETS.items()
    }
    state_gib = counts['params_m'] * 1e6 * BYTES_PER_PARAM / 2**30
    activations_gib = (counts['saved_activation_mib_per_image'] *
                       batch_per_gpu / 1024)
    return dict(
        step_gflop_per_image=flops / 1e9,
        days=days,
        model_state_gib_ddp=state_gib,
        model_state_gib_fsdp=state_gib / gpus,
        activations_gib=activations_gib,
        total_gib_ddp=state_gib + activations_gib,
        total_gib_fsdp=state_gib / gpus + activations_gib)


def rows(report: dict):
    """(arch, mode, 'yes'/'no' checkpointing, counts, estimates by GPUs)."""
    for key, counts in report['counts'].items():
        arch, mode, *cp = key.split('/')
        yield (arch, mode, 'yes' if cp else 'no', counts,
               report['estimates'][key])


def markdown_tables(report: dict) -> str:
    """The three tables of docs/scaling.md: counts, hours, GiB per GPU."""
    gpus = list(next(iter(report['estimates'].values())))
    head = '| ViT | mode | block ckpt |'
    lines = [
        head + ' GFLOP / image | encoder | decoder | heads | saved MiB / '
        'image | params M |', '|---|---|---|---:|---:|---:|---:|---:|---:|'
    ]
    for arch, mode, cp, c, _ in rows(report):
        part = c['gflop_per_image_by_part']
        lines.append(
            f"| {arch} | {mode} | {cp} | {c['gflop_per_image']:.1f} | "
            f"{part['encoder']:.1f} | {part['decoder']:.1f} | "
            f"{part['heads']:.2f} | "
            f"{c['saved_activation_mib_per_image']:.0f} | "
            f"{c['params_m']:.1f} |")
    lines += ['', head + ''.join(
        f' {data}, {n} GPUs (h) |' for n in gpus for data in DATASETS),
        '|---|---|---|' + '---:|' * (len(gpus) * len(DATASETS))]
    for arch, mode, cp, _, est in rows(report):
        lines.append(f'| {arch} | {mode} | {cp} |' + ''.join(
            f" {est[n]['days'][data] * 24:.1f} |" for n in gpus
            for data in DATASETS))
    lines += ['', head + ' model state, DDP |' + ''.join(
        f' model state, FSDP {n} GPUs |' for n in gpus) +
        ' activations |' + ' total, DDP |' + ''.join(
            f' total, FSDP {n} GPUs |' for n in gpus),
        '|---|---|---|' + '---:|' * (3 + 2 * len(gpus))]
    for arch, mode, cp, _, est in rows(report):
        first = est[gpus[0]]
        lines.append(
            f"| {arch} | {mode} | {cp} | {first['model_state_gib_ddp']:.2f}"
            ' |' + ''.join(f" {est[n]['model_state_gib_fsdp']:.2f} |"
                           for n in gpus) +
            f" {first['activations_gib']:.1f} |"
            f" {first['total_gib_ddp']:.1f} |" + ''.join(
                f" {est[n]['total_gib_fsdp']:.1f} |" for n in gpus))
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(ARCH_NAMES),
                        choices=ARCH_NAMES)
    parser.add_argument('--gpus', type=int, nargs='+', default=[8, 32])
    parser.add_argument('--gpu-name', default='A100-SXM4-80GB')
    parser.add_argument(
        '--peak-tflops', type=float, default=312.,
        help='dense fp16/bf16 tensor-core peak of one GPU (A100: 312)')
    parser.add_argument('--utilisation', type=float, default=0.4)
    parser.add_argument('--epochs', type=int, default=400)
    parser.add_argument('--batch-per-gpu', type=int, default=64)
    parser.add_argument(
        '--model-config', type=Path, default=TSCAE_MODEL_CONFIG,
        help='the TSCAE model config whose model is resized to each ViT '
        '(default: %(default)s)')
    parser.add_argument('--out', type=Path,
                        default=Path('work_dirs', 'scaling.json'))
    return parser.parse_args(argv)


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    import tscae_mm  # noqa: F401
    init_default_scope('mmpretrain')
    report = dict(
        command='python tools/scaling_estimates.py ' +
        ' '.join(argv if argv is not None else sys.argv[1:]),
        assumptions=dict(
            gpu=args.gpu_name, peak_tflops=args.peak_tflops,
            utilisation=args.utilisation, epochs=args.epochs,
            batch_per_gpu=args.batch_per_gpu, images=DATASETS,
            bytes_per_param=BYTES_PER_PARAM),
        counts={}, estimates={})
    for arch in args.archs:
        for mode in MODES:
            for with_cp in (False, True):
                key = f'{arch}/{mode}' + ('/cp' if with_cp else '')
                counts = count(arch, mode, with_cp, args.model_config)
                report['counts'][key] = counts
                report['estimates'][key] = {
                    str(gpus): estimate(counts, gpus, args.peak_tflops,
                                        args.utilisation, args.epochs,
                                        args.batch_per_gpu)
                    for gpus in args.gpus
                }
                print(key, json.dumps(counts), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + '\n')
    print(markdown_tables(report))
    print(f'written to {args.out}')
    return report
