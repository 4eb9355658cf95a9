"""The reason an image was skipped is logged by the rank that skipped it
(MMEngine shows only rank 0's warnings), and rank 0's summary says which
rank skipped which file."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import tscae_mm  # noqa: F401
from tscae_mm.datasets import LoadImageFromFileSafe, pop_skipped_images

from conftest import REPO_ROOT
from reliability_runs import free_port
from tiny_configs import TINY_CLASSIFIER_CONFIG

# the launcher tests' tiny classifier, reading through SeededDataset
TWO_PROCESS_CONFIG = TINY_CLASSIFIER_CONFIG.format(data_root='images') + """
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
custom_hooks = [dict(type='SkippedImagesHook')]
"""


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


@pytest.mark.slow
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
