"""Benchmark DDP against FSDP (with and without activation checkpointing) for
TSCAE pre-training: per-rank memory and step time.

Each mode runs in its own ``torchrun`` group of ``--nproc`` processes (gloo
on CPU, NCCL with CUDA) on this project's TSCAE model resized to the
benchmark's ViT (as ``tools/benchmark_pretrain.py``), with random images and
the pipeline's complementary masks, ``--batch`` images per process:

- ``ddp``: ``MMDistributedDataParallel``, the plain Runner's wrapper;
- ``ddp_cp``: the same with ``TSCAEViT(with_cp=True)``;
- ``fsdp``: ``TSCAEFSDPStrategy``'s wrapping (configs/_base_/fsdp.py: one
  FSDP unit per transformer block, FULL_SHARD, ``use_orig_params``);
- ``fsdp_cp``: the same with ``with_cp=True``.

A step is forward + backward (+ the gradient all-reduce / reduce-scatter)
+ AdamW step. For every rank it reports:

- ``model_state_bytes``: this rank's parameters, gradients and AdamW states
  (exact: the tensors' sizes; FSDP holds 1/N of each, plus padding);
- ``saved_activation_bytes``: the tensors autograd keeps for backward
  during one forward (unique storages, parameters excluded), exact;
- ``peak_bytes``: with CUDA, ``torch.cuda.max_memory_allocated`` growth
  over building the model and the steps; on CPU, the peak resident set
  size growth over the same (``VmHWM`` minus the resident size before the
  model was built; includes the allocator's and gloo's buffers);
- ``step_seconds``: the median of ``--iters`` timed steps after
  ``--warmup`` steps.

Figures are measured, never estimated; the JSON file holds them with a
description of the machine. Each group runs this module
(``python -m tscae_study.speed.fsdp --worker <mode>``) with the ``tscae_mm``
and ``tscae_study`` this process imported. Command line:
``tools/benchmark_fsdp.py``::

    python tools/benchmark_fsdp.py --arch base --batch 2 --iters 3 \\
        --out docs/speed/fsdp_cpu.json
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.distributed as dist

import tscae_mm

from .pretrain import (
    ARCHS,
    TSCAE_MODEL_CONFIG,
    SavedActivations,
    load_average,
    machine_info,
    make_batches,
    read_status_kib,
    reset_peak_rss,
    tscae_config,
    warm_kernels,
)

MODES = ('ddp', 'ddp_cp', 'fsdp', 'fsdp_cp')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='DDP vs FSDP (+ activation checkpointing): per-rank '
        'memory and step time of TSCAE pre-training.')
    parser.add_argument('--arch', default='base', choices=list(ARCHS))
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument(
        '--batch', type=int, default=2, help='images per process and step')
    parser.add_argument('--iters', type=int, default=3, help='timed steps')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--nproc', type=int, default=2, help='processes')
    parser.add_argument(
        '--modes', nargs='+', default=list(MODES), choices=MODES)
    parser.add_argument('--token-drop', action='store_true',
                        help='the token-drop mode (default: reference)')
    parser.add_argument('--tscae-decoder-layers', type=int, default=6)
    parser.add_argument(
        '--model-config', type=Path, default=TSCAE_MODEL_CONFIG,
        help='the TSCAE model config whose model is resized to the '
        "benchmark's ViT (default: %(default)s)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out', type=Path,
        default=Path('work_dirs', 'benchmark_fsdp', 'fsdp.json'))
    parser.add_argument('--worker', choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument('--result', type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch < 1 or args.iters < 1 or args.warmup < 0 or args.nproc < 1:
        parser.error('--batch, --iters and --nproc must be >= 1 and '
                     '--warmup >= 0')
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def wrap(model: torch.nn.Module, mode: str, device: torch.device,
         work_dir: str):
    """The model in the mode's data-parallel wrapper (``work_dir``: where
    the strategy writes its log)."""
    if mode.startswith('fsdp'):
        from mmengine.config import Config

        from tscae_mm.engine import TSCAEFSDPStrategy
        from tscae_mm.utils import enable_fsdp
        cfg = Config()
        enable_fsdp(cfg)  # the strategy of tools/train.py --fsdp
        strategy = TSCAEFSDPStrategy(
            model_wrapper=cfg.strategy.model_wrapper.to_dict(),
            work_dir=work_dir)
        return strategy._wrap_model(model)
    from mmengine.model import MMDistributedDataParallel
    model.to(device)
    return MMDistributedDataParallel(
        module=model,
        device_ids=None if device.type == 'cpu' else [device.index],
        broadcast_buffers=False)


class ParamAwareSavedActivations(SavedActivations):
    """Saved-activation bytes when parameters change storage during the
    forward (FSDP gathers a block's weights into a new buffer): parameters
    are recognised by their storage at the moment a tensor is saved."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self.model = model

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        self.param_storages = {
            p.untyped_storage().data_ptr()
            for p in self.model.parameters()
        }
        return super().pack(tensor)


def model_state_bytes(model, optimizer) -> Dict[str, int]:
    """This rank's parameter, gradient and optimizer-state bytes."""
    def size(tensor) -> int:
        return tensor.numel() * tensor.element_size()

    params = list(model.parameters())
    states = [
        value for state in optimizer.state.values()
        for value in state.values() if isinstance(value, torch.Tensor)
    ]
    return dict(
        params=sum(size(p) for p in params),
        grads=sum(size(p.grad) for p in params if p.grad is not None),
        optimizer=sum(size(s) for s in states))


def worker(args: argparse.Namespace) -> None:
    """One rank of one mode (under torchrun): measure, rank 0 writes."""
    from mmpretrain.registry import MODELS
    mode = args.worker
    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    device = torch.device('cuda', local_rank) if cuda else torch.device('cpu')
    dist.init_process_group('nccl' if cuda else 'gloo')
    warm_kernels(device)
    cfg = tscae_config(args, token_drop=args.token_drop)
    cfg['backbone']['with_cp'] = mode.endswith('_cp')
    if not cuda:  # as tools/train.py: PyTorch's SyncBN is CUDA-only
        from tscae_mm.utils.launch import sync_bn_for_cpu
        sync_bn_for_cpu(dict(model=cfg))
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        baseline = torch.cuda.memory_allocated(device)
    else:
        reset_peak_rss()
        baseline = read_status_kib('VmRSS') * 1024
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    wrapped = wrap(model, mode, device, str(args.result.parent))
    optimizer = torch.optim.AdamW(
        [p for p in wrapped.parameters() if p.requires_grad],
        lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    batches = make_batches(args, device, count=2)

    def step(images, samples, saved=None) -> float:
        optimizer.zero_grad(set_to_none=True)
        hooks = saved.hooks() if saved is not None else nullcontext()
        with hooks:
            losses = wrapped(images, samples, mode='loss')
        sum(losses.values()).backward()
        optimizer.step()
        return float(sum(v.detach() for v in losses.values()))

    saved = ParamAwareSavedActivations(wrapped)
    losses = [step(*batches[0], saved=saved)]
    for i in range(args.warmup):
        losses.append(step(*batches[(i + 1) % 2]))
    times = []
    for i in range(args.iters):
        if cuda:
            torch.cuda.synchronize(device)
        dist.barrier()
        start = time.perf_counter()
        losses.append(step(*batches[i % 2]))
        if cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) - baseline
    else:
        peak = read_status_kib('VmHWM') * 1024 - baseline
    state = model_state_bytes(wrapped, optimizer)
    result = dict(
        rank=dist.get_rank(),
        model_state_bytes=sum(state.values()),
        model_state_parts=state,
        saved_activation_bytes=saved.total_bytes,
        peak_bytes=peak,
        step_seconds=statistics.median(times),
        step_times=times,
        losses=losses)
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, result)
    if dist.get_rank() == 0:
        args.result.write_text(json.dumps(gathered))
    dist.destroy_process_group()


def import_path() -> str:
    """PYTHONPATH for the workers: the folders this process imported
    ``tscae_study`` and ``tscae_mm`` from, then the caller's."""
    folders = [
        str(Path(__file__).resolve().parents[2]),
        str(Path(tscae_mm.__file__).resolve().parents[1])
    ]
    if os.environ.get('PYTHONPATH'):
        folders.append(os.environ['PYTHONPATH'])
    return os.pathsep.join(folders)


def run_mode(args: argparse.Namespace, mode: str) -> List[dict]:
    """Run one mode under torchrun; the per-rank results."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / 'result.json'
        command = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={args.nproc}', f'--master_port={free_port()}',
            '-m', 'tscae_study.speed.fsdp', '--worker', mode,
            '--result', str(result), '--arch', args.arch, '--img-size',
            str(args.img_size), '--patch-size', str(args.patch_size),
            '--batch', str(args.batch), '--iters', str(args.iters),
            '--warmup', str(args.warmup), '--seed', str(args.seed),
            '--tscae-decoder-layers', str(args.tscae_decoder_layers),
            '--model-config', str(args.model_config.resolve())
        ] + (['--token-drop'] if args.token_drop else [])
        env = dict(os.environ, PYTHONPATH=import_path())
        proc = subprocess.run(command, env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0 or not result.is_file():
            raise RuntimeError(f'{mode} failed (exit {proc.returncode}):\n'
                               f'{proc.stderr[-4000:]}')
        return json.loads(result.read_text())


def mib(value: float) -> str:
    return f'{value / 2**20:,.1f}'


def format_table(modes: Dict[str, List[dict]]) -> str:
    """Markdown table: per-rank means (max over ranks for peaks)."""
    lines = [
        '| mode | model state / rank (MiB) | saved activations / rank '
        '(MiB) | peak growth / rank, max (MiB) | step time (s) |',
        '|---|---:|---:|---:|---:|'
    ]
    for mode, ranks in modes.items():
        mean = lambda key: statistics.mean(r[key] for r in ranks)  # noqa
        lines.append(
            f"| {mode} | {mib(mean('model_state_bytes'))} | "
            f"{mib(mean('saved_activation_bytes'))} | "
            f"{mib(max(r['peak_bytes'] for r in ranks))} | "
            f"{max(r['step_seconds'] for r in ranks):.2f} |")
    return '\n'.join(lines)


def main(argv=None) -> Optional[dict]:
    args = parse_args(argv)
    if args.worker is not None:
        worker(args)
        return None
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    modes = {}
    for mode in args.modes:
        print(f'[{mode}] {args.nproc} processes ...', flush=True)
        modes[mode] = run_mode(args, mode)
    report = dict(
        description=(
            f'TSCAE ({"token-drop" if args.token_drop else "reference"} '
            f'mode), ViT {args.arch} ({ARCHS[args.arch]}), '
            f'{args.img_size} px, patch {args.patch_size}, decoder '
            f'{args.tscae_decoder_layers} layers; {args.nproc} processes x '
            f'{args.batch} images; step = forward + backward + AdamW; '
            f'median of {args.iters} steps after {args.warmup} warm-up '
            'step(s). Peak: ' +
            ('cuda max_memory_allocated growth' if device.type == 'cuda'
             else 'resident set size growth (VmHWM - VmRSS before build)')),
        command='python tools/benchmark_fsdp.py ' +
        ' '.join(argv if argv is not None else sys.argv[1:]),
        machine=machine_info(device),
        load_average_after=load_average(),
        modes=modes,
        table=format_table(modes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + '\n')
    print(report['table'])
    print(f'written to {args.out}')
    return report


if __name__ == '__main__':
    main()
