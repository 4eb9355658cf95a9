"""Resume and load from a work dir whose ``last_checkpoint`` holds binary
junk or whose newest checkpoint is truncated: the newest intact checkpoint
is used with a warning naming the bad file, or the run stops naming the
intact one; nothing is deleted. With MMEngine's plain Runner under a
toolbox's own tools/train.py MMEngine's own resume runs (documented
limitation, checked here so that the docs stay true)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tscae_mm.engine.runners.reliable_checkpoints import (
    IncompleteCheckpointError,
    checkpoint_problem,
    find_resume_checkpoint,
    refuse_incomplete_checkpoint,
)

from conftest import REPO_ROOT
from tiny_configs import TINY_CLASSIFIER_CONFIG

JUNK = bytes(range(128, 256)) + b'\x00\xff'
MMPRETRAIN_TRAIN = os.path.join(
    os.path.dirname(__import__('mmpretrain').__file__), '.mim', 'tools',
    'train.py')


def save(path: Path, value: int = 0) -> Path:
    torch.save(dict(state_dict=dict(w=torch.full((64, ), value)),
                    meta=dict(iter=value)), path)
    return path


def truncate(path: Path) -> None:
    with open(path, 'r+b') as file:
        file.truncate(os.path.getsize(path) // 2)


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_junk_pointer_falls_back_to_newest_intact(tmp_path):
    save(tmp_path / 'iter_2.pth', 2)
    os.utime(tmp_path / 'iter_2.pth', (1, 1))
    save(tmp_path / 'iter_4.pth', 4)
    (tmp_path / 'last_checkpoint').write_bytes(JUNK)
    before = snapshot(tmp_path)
    warnings = []
    assert find_resume_checkpoint(str(tmp_path), warnings.append) == str(
        tmp_path / 'iter_4.pth')
    assert len(warnings) == 1
    assert (f'{tmp_path / "last_checkpoint"} holds 130 bytes of binary '
            'data, not the path of a checkpoint') in warnings[0]
    assert (f'Resuming from the newest intact checkpoint instead: '
            f'{tmp_path / "iter_4.pth"}. Nothing was deleted') in warnings[0]
    assert snapshot(tmp_path) == before


def test_truncated_newest_falls_back_to_the_older_one(tmp_path):
    save(tmp_path / 'iter_2.pth', 2)
    os.utime(tmp_path / 'iter_2.pth', (1, 1))
    newest = save(tmp_path / 'iter_4.pth', 4)
    truncate(newest)
    (tmp_path / 'last_checkpoint').write_text(str(newest))
    before = snapshot(tmp_path)
    warnings = []
    assert find_resume_checkpoint(str(tmp_path), warnings.append) == str(
        tmp_path / 'iter_2.pth')
    assert (f'last_checkpoint names {newest}, but it is truncated or '
            'corrupted') in warnings[0]
    assert warnings[0].count(str(newest)) == 1  # named once
    assert snapshot(tmp_path) == before


def test_nothing_intact_stops_naming_every_bad_file(tmp_path):
    for name in ('iter_2.pth', 'iter_4.pth'):
        truncate(save(tmp_path / name))
    (tmp_path / 'last_checkpoint').write_bytes(JUNK)
    before = snapshot(tmp_path)
    with pytest.raises(IncompleteCheckpointError) as stopped:
        find_resume_checkpoint(str(tmp_path), print)
    message = str(stopped.value)
    assert f'{tmp_path} holds no intact checkpoint' in message
    for name in ('last_checkpoint', 'iter_2.pth', 'iter_4.pth'):
        assert str(tmp_path / name) in message
    assert '--resume PATH' in message
    assert snapshot(tmp_path) == before


def test_empty_work_dir_and_empty_pointer_start_afresh(tmp_path):
    assert find_resume_checkpoint(str(tmp_path), pytest.fail) is None
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path), pytest.fail) is None


def test_a_given_truncated_checkpoint_names_the_intact_one(tmp_path):
    intact = save(tmp_path / 'epoch_1.pth')
    os.utime(intact, (1, 1))
    broken = save(tmp_path / 'epoch_2.pth')
    truncate(broken)
    with pytest.raises(IncompleteCheckpointError) as stopped:
        refuse_incomplete_checkpoint(str(broken), resume=True)
    assert str(stopped.value).startswith(
        f'Cannot resume from checkpoint {broken}: it is truncated or '
        'corrupted')
    assert (f'The newest intact checkpoint in {tmp_path} is {intact}: resume '
            f'from it (--resume {intact})') in str(stopped.value)
    with pytest.raises(IncompleteCheckpointError, match='load_from='):
        refuse_incomplete_checkpoint(str(broken), resume=False)
    refuse_incomplete_checkpoint(str(intact), resume=True)  # no error
    assert broken.exists()


def test_checkpoint_formats(tmp_path):
    legacy = tmp_path / 'legacy.pth'
    torch.save(dict(a=1), legacy, _use_new_zipfile_serialization=False)
    assert checkpoint_problem(str(legacy)) is None
    assert checkpoint_problem(str(save(tmp_path / 'new.pth'))) is None
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert checkpoint_problem(str(tmp_path / 'empty.pth')) == \
        'it is empty (0 bytes)'
    (tmp_path / 'text.pth').write_text('hello')
    assert 'not a checkpoint written by torch.save' in checkpoint_problem(
        str(tmp_path / 'text.pth'))
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == \
        'it does not exist'
    assert checkpoint_problem('s3://bucket/epoch_1.pth') is None


# --- through the training scripts (subprocesses) --------------------------


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny classifier config (plain and ReliableRunner) and a work dir
    holding its iter_2.pth and iter_4.pth."""
    root = tmp_path_factory.mktemp('broken_checkpoints')
    rng = np.random.default_rng(0)
    for label in ('a', 'b'):
        (root / 'data' / label).mkdir(parents=True)
        for index in range(4):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3),
                                         dtype=np.uint8)).save(
                root / 'data' / label / f'{index}.png')
    text = TINY_CLASSIFIER_CONFIG.format(data_root=str(root / 'data'))
    text = text.replace('max_iters=2', 'max_iters=4')
    (root / 'plain.py').write_text(text)
    (root / 'reliable.py').write_text(text +
                                      "runner_type = 'ReliableRunner'\n")
    proc = train(root / 'reliable.py', root / 'first', [], 'ours')
    assert proc.returncode == 0, proc.stderr[-3000:]
    os.utime(root / 'first' / 'iter_2.pth', (1, 1))
    return root


def train(config, work_dir, extra, tool):
    script = (str(REPO_ROOT / 'tools' / 'train.py')
              if tool == 'ours' else MMPRETRAIN_TRAIN)
    if tool != 'ours':  # it defaults to persistent workers; we have none
        extra = [*extra, '--no-persistent-workers']
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, script, str(config), '--work-dir', str(work_dir),
         *extra],
        cwd=config.parent, env=env, capture_output=True, text=True,
        timeout=300)


def broken_copy(trained, name):
    """The first run's work dir with junk in last_checkpoint and its newest
    checkpoint (iter_4.pth) truncated."""
    work_dir = trained / name
    shutil.copytree(trained / 'first', work_dir)
    truncate(work_dir / 'iter_4.pth')
    (work_dir / 'last_checkpoint').write_bytes(JUNK)
    return work_dir


@pytest.mark.slow
@pytest.mark.parametrize('tool,runner', [('ours', 'reliable'),
                                         ('ours', 'plain'),
                                         ('mmpretrain', 'reliable')])
def test_resume_falls_back_to_the_intact_checkpoint(trained, tool, runner):
    work_dir = broken_copy(trained, f'{tool}_{runner}')
    proc = train(trained / f'{runner}.py', work_dir, ['--resume'], tool)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert (f'{work_dir / "last_checkpoint"} holds 130 bytes of binary data'
            in log)
    assert f'{work_dir / "iter_4.pth"} is not intact: it is truncated' in log
    assert ('Resuming from the newest intact checkpoint instead: '
            f'{work_dir / "iter_2.pth"}. Nothing was deleted') in log
    assert 'Advance dataloader 2 steps' in log  # resumed at iteration 2
    assert 'Iter(train) [4/4]' in log
    assert (work_dir / 'iter_4.pth').stat().st_size > 0


@pytest.mark.slow
def test_resume_from_a_truncated_path_names_the_intact_one(trained):
    work_dir = broken_copy(trained, 'explicit')
    broken = work_dir / 'iter_4.pth'
    proc = train(trained / 'reliable.py', work_dir,
                 ['--resume', str(broken)], 'ours')
    assert proc.returncode != 0
    assert (f'IncompleteCheckpointError: Cannot resume from checkpoint '
            f'{broken}: it is truncated or corrupted') in proc.stderr
    assert f'--resume {work_dir / "iter_2.pth"}' in proc.stderr
    assert broken.exists()


@pytest.mark.slow
def test_plain_runner_under_a_toolbox_script_keeps_mmengine_resume(trained):
    """Documented in docs/reliability.md: without runner_type our code does
    not take part in a toolbox script's resume."""
    work_dir = broken_copy(trained, 'mmpretrain_plain')
    proc = train(trained / 'plain.py', work_dir, ['--resume'], 'mmpretrain')
    assert proc.returncode != 0
    assert 'UnicodeDecodeError' in proc.stderr
