"""The reason an image was skipped is logged by the rank that skipped it
(MMEngine shows only rank 0's warnings), and rank 0's summary says which
rank skipped which file."""
import os
import socket
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import REPO_ROOT

import tscae_mm  # noqa: F401
from tscae_mm.datasets import LoadImageFromFileSafe
from tscae_mm.datasets.robust_loading import pop_skipped_images

TWO_PROCESS_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False),
    backbone=dict(
        type='VisionTransformer',
        arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                  feedforward_channels=64),
        img_size=16,
        patch_size=8),
    head=dict(
        type='VisionTransformerClsHead', num_classes=2, in_channels=32,
        loss=dict(type='CrossEntropyLoss')))
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=False,
    sampler=dict(type='SeededSampler', shuffle=True),
    dataset=dict(
        type='SeededDataset',
        dataset=dict(
            type='CustomDataset',
            data_root='images',
            pipeline=[dict(type='LoadImageFromFileSafe'),
                      dict(type='PackInputs')])))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
custom_hooks = [dict(type='SkippedImagesHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_a_rank_other_than_0_logs_the_reason_on_stderr(tmp_path, capsys,
                                                       monkeypatch):
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    monkeypatch.setenv('RANK', '1')  # as torchrun sets it, workers inherit
    pop_skipped_images()
    assert LoadImageFromFileSafe()(dict(img_path=str(empty))) is None
    assert pop_skipped_images() == [str(empty)]
    err = capsys.readouterr().err
    assert (f'WARNING - [rank 1] Skipped image {empty}: cannot decode it '
            '(the file is empty (0 bytes)); another image is used instead.'
            ) in err


def test_rank_0_logs_through_mmengine_only(tmp_path, capsys, monkeypatch):
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    monkeypatch.setenv('RANK', '0')
    LoadImageFromFileSafe()(dict(img_path=str(empty)))
    pop_skipped_images()
    captured = capsys.readouterr()
    assert '[rank' not in captured.err + captured.out


def test_two_process_run_logs_each_skip_on_its_rank(tmp_path):
    """6 of 8 images are empty files: rank 1's 4 samples include at least
    two of them, whose reason must reach rank 1's stderr."""
    client = tmp_path / 'client'
    rng = np.random.default_rng(0)
    for index in range(8):
        folder = client / 'images' / ('dark', 'light')[index % 2]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f'{index}.png'
        if index < 6:
            path.write_bytes(b'')
        else:
            Image.fromarray(rng.integers(0, 255, (16, 16, 3)).astype(
                np.uint8)).save(path)
    (client / 'skip.py').write_text(TWO_PROCESS_CONFIG)
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable,
               OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / 'dist_train.sh'), 'skip.py', '2',
         '--work-dir', 'work_dirs/skip'],
        cwd=client, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert '[rank 1] Skipped image images/' in proc.stderr
    assert 'cannot decode it (the file is empty (0 bytes))' in proc.stderr
    assert '.png (rank 1)' in output  # rank 0's summary names the rank
    assert 'the reason for each was logged by the rank that skipped it' \
        in output
