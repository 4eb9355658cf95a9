"""Tiny real TSCAE training runs on CPU for the reliability tests.

The runs use the demo config with a 2-layer, 64-wide ViT, 32 px JPEGs written
by :func:`write_images`, the seeded data loader, the reliability hooks and
``ReliableRunner``, logging every iteration unsmoothed so that
``vis_data/scalars.json`` holds each iteration's losses.
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.model import BaseModel
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from tscae_mm.engine import ReliableRunner

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO_ROOT / 'configs' / 'tscae' / 'tscae_vit-tiny-p4_demo.py'
TRAIN = REPO_ROOT / 'tools' / 'train.py'
DIST_TRAIN = REPO_ROOT / 'tools' / 'dist_train.sh'
LOSS_KEYS = ('loss', 'loss_pixel', 'loss_contrast', 'loss_global')

TINY_CONFIG = '''
_base_ = {demo!r}
custom_imports = dict(
    imports=['tscae_mm', 'tscae_mm.engine', 'tscae_mm.datasets.seeded'],
    allow_failed_imports=False)
runner_type = 'ReliableRunner'
# the demo's encoder made tiny, in the recommended two-pass form (teacher
# and student passes over full-length sequences; the demo itself is the
# efficient sibling-view form)
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=64, num_layers=2,
                            num_heads=2, feedforward_channels=128),
                  token_drop=False),
    neck=dict(in_channels=64, embed_dims=64, num_layers=1, num_heads=2),
    head=dict(in_channels=64),
    student_targets='student_pass',
    contrast_head=dict(embed_dims=64, loss_type='simsiam', symmetric=False,
                       norm_cfg=dict(type='SyncBNAnyDevice')),
    global_head=dict(stop_grad_target=False),
    token_regularizer=None)
train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error={on_decode_error!r}),
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ComplementaryMaskGenerator', input_size=32, patch_size=4,
         mask_ratio=0.75),
    dict(type='PackInputs', algorithm_keys=['mask'])]
train_dataloader = dict(
    _delete_=True, batch_size={batch_size}, num_workers={num_workers},
    persistent_workers={persistent},
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='SeededDataset', dataset=dict(
        type='CustomDataset', data_root={data_root!r}, with_label=False,
        pipeline=train_pipeline)))
train_cfg = dict(max_epochs={epochs})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max={epochs}, eta_min=0., by_epoch=True,
         begin=1, end={epochs} + 1, convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=2))
log_processor = dict(window_size=1)
custom_hooks = [
    dict(type='ReproducibleRandomnessHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='SkippedImagesHook'),
    dict(type='GlobalBatchLossHook')]
'''


def write_images(folder: Path,
                 count: int,
                 size: int = 32,
                 seed: int = 0) -> Path:
    """Write ``count`` random RGB JPEGs into ``folder/images``; return folder.

    CustomDataset without labels reads every image below the data root.
    """
    rng = np.random.default_rng(seed)
    (folder / 'images').mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(
            folder / 'images' / f'{i:03d}.jpg', quality=90)
    return folder


def write_tiny_config(path: Path,
                      data_root: Path,
                      batch_size: int = 8,
                      num_workers: int = 0,
                      epochs: int = 2,
                      on_decode_error: str = 'skip') -> Path:
    """Write the tiny TSCAE config to ``path``; return ``path``."""
    path.write_text(
        TINY_CONFIG.format(
            demo=str(DEMO_CONFIG),
            data_root=str(data_root),
            batch_size=batch_size,
            num_workers=num_workers,
            persistent=num_workers > 0,
            epochs=epochs,
            on_decode_error=on_decode_error))
    return path


def tool_env() -> Dict[str, str]:
    """Environment of the training subprocesses: this interpreter, 1 thread."""
    return dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1')


def train_command(config: Path,
                  work_dir: Path,
                  processes: int = 1,
                  extra: Sequence[str] = ()) -> List[str]:
    """``tools/train.py`` (1 process) or ``tools/dist_train.sh`` (more)."""
    options = ['--work-dir', str(work_dir), *extra]
    if processes == 1:
        return [sys.executable, str(TRAIN), str(config), *options]
    return ['bash', str(DIST_TRAIN), str(config), str(processes), *options]


def free_port() -> int:
    """A TCP port free on this machine now (for torchrun's rendezvous)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_training(config: Path,
                 work_dir: Path,
                 processes: int = 1,
                 extra: Sequence[str] = (),
                 port: Optional[int] = None,
                 timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a training to its end; the completed process (not checked)."""
    env = tool_env()
    if port is not None:
        env['PORT'] = str(port)
    return subprocess.run(
        train_command(config, work_dir, processes, extra),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def describe(proc: subprocess.CompletedProcess) -> str:
    """The tail of a finished process's output, for assertion messages."""
    return (f'exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n'
            f'--- stderr\n{proc.stderr[-5000:]}')


def scalar_logs(work_dir: Path) -> List[Path]:
    """The runs' ``scalars.json`` files in ``work_dir``, oldest run first."""
    return sorted(work_dir.glob('*/vis_data/scalars.json'))


def read_losses(scalars_json: Path) -> Dict[int, Dict[str, float]]:
    """``{iteration: {loss key: value}}`` from one run's scalars.json."""
    losses = {}
    for line in scalars_json.read_text().splitlines():
        record = json.loads(line)
        if 'loss' in record:
            losses[record['iter']] = {key: record[key] for key in LOSS_KEYS}
    return losses


def read_records(scalars_json: Path) -> List[dict]:
    """Every record of one run's scalars.json."""
    return [json.loads(line) for line in scalars_json.read_text().splitlines()]


class ToyModel(BaseModel):
    """Two linear layers; the loss is the mean squared output."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, width)
        self.out = nn.Linear(width, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=self.out(self.hidden(inputs)).pow(2).mean())


class ToyDataset(Dataset):
    """``length`` 2-vectors; those at the ``poisoned`` indices hold NaN."""

    def __init__(self, length: int = 8, poisoned: Sequence[int] = ()):
        self.length, self.poisoned = length, set(poisoned)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        value = float('nan') if index in self.poisoned else index / 10
        return dict(inputs=torch.tensor([value, 1.0]))


def toy_runner(work_dir: Path,
               name: str,
               model: Optional[nn.Module] = None,
               dataset: Optional[Dataset] = None,
               custom_hooks: Sequence[dict] = (),
               epochs: int = 2,
               **runner_args) -> ReliableRunner:
    """A ReliableRunner over the toy model: batch 2, SGD, a checkpoint per
    epoch, a log line per iteration."""
    return ReliableRunner(
        model=model or ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=dataset or ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(custom_hooks),
        default_scope='mmengine',
        **runner_args)


def newest_log(work_dir: Path) -> str:
    """The text log of the newest run in ``work_dir``."""
    return max(work_dir.glob('*/*.log'), key=os.path.getmtime).read_text()
