"""The workarounds for MMEngine 0.10.7 / torch >= 2.6 (tscae_mm.utils.compat).

MMEngine Runner checkpoints load with torch.load(weights_only=True) once
tscae_mm is imported; anything else pickled in a checkpoint is refused unless
the user opts in. Each workaround applies to the versions installed here, so
that an upgrade that makes one unnecessary (or that it was not checked
against) fails here first.
"""
import fractions
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel, BaseModule
from mmengine.runner import Runner, load_checkpoint
from torch.utils.data import Dataset

import tscae_mm  # noqa: F401  (registers the allow-list)
from tscae_mm.utils import (
    ALLOW_UNSAFE_ENV,
    UnsafeCheckpointError,
    allow_unsafe_checkpoint_load,
    compat,
    register_checkpoint_safe_globals,
)

NUM_ITERS = 2


class PairDataset(Dataset):
    """Eight fixed (inputs: 4 floats, target: 1 float) pairs."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        return dict(
            inputs=torch.randn(4, generator=generator),
            target=torch.randn(1, generator=generator))


class LinearRegressor(BaseModel):
    """inputs: N tensors of shape (4, ) -> (N, 1); loss: mean squared error."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, target, mode='tensor'):
        prediction = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(prediction - torch.stack(target)).pow(2).mean())
        return prediction


class PretrainedLinear(BaseModule):
    """A plain module with the same weights, initialised through init_cfg."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.linear = nn.Linear(4, 1)


class Reduces:
    """Pickles as ``func(*args)``: a stand-in for a hostile checkpoint."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def build_runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=LinearRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=PairDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[1], by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=NUM_ITERS, by_epoch=False)),
        default_scope='mmengine',
        randomness=dict(seed=0),
        **kwargs)


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """The checkpoint a real Runner writes after NUM_ITERS iterations."""
    work_dir = tmp_path_factory.mktemp('runner')
    build_runner(work_dir, NUM_ITERS).train()
    return work_dir / f'iter_{NUM_ITERS}.pth'


@pytest.fixture
def foreign_checkpoint(tmp_path):
    """A checkpoint whose meta holds an instance of an unlisted class."""
    path = tmp_path / 'foreign.pth'
    torch.save(
        dict(
            state_dict=LinearRegressor().state_dict(),
            meta=dict(ratio=fractions.Fraction(1, 3))), path)
    return path


def saved_weight(checkpoint):
    return torch.load(checkpoint)['state_dict']['linear.weight']


@pytest.mark.slow  # trains a Runner (runner_checkpoint)
def test_runner_checkpoint_pickles_more_than_torch_allows(runner_checkpoint):
    """The loads below are meaningful: the file needs the allow-list."""
    with zipfile.ZipFile(runner_checkpoint) as archive:
        pickled = archive.read(
            next(name for name in archive.namelist()
                 if name.endswith('data.pkl')))
    for global_name in (b'__builtin__\ngetattr', b'\nHistoryBuffer',
                        b'multiarray\nscalar', b'numpy\ndtype'):
        assert global_name in pickled


@pytest.mark.slow  # trains a Runner (runner_checkpoint)
def test_load_checkpoint_reads_runner_checkpoint(runner_checkpoint):
    model = LinearRegressor()
    checkpoint = load_checkpoint(model, str(runner_checkpoint))
    assert checkpoint['meta']['iter'] == NUM_ITERS
    torch.testing.assert_close(model.linear.weight,
                               saved_weight(runner_checkpoint))
    lr_buffer = checkpoint['message_hub']['log_scalars']['train/lr']
    assert isinstance(lr_buffer, HistoryBuffer)
    assert lr_buffer._statistics_methods['mean'] is HistoryBuffer.mean


@pytest.mark.slow  # trains a Runner (runner_checkpoint)
def test_runner_load_from(runner_checkpoint, tmp_path):
    runner = build_runner(
        tmp_path, NUM_ITERS, load_from=str(runner_checkpoint))
    runner.load_or_resume()
    torch.testing.assert_close(runner.model.linear.weight,
                               saved_weight(runner_checkpoint))


@pytest.mark.slow  # trains a Runner (runner_checkpoint)
def test_runner_resume_continues_from_the_checkpoint(runner_checkpoint,
                                                     tmp_path):
    """resume=True without load_from: the work dir's last_checkpoint."""
    shutil.copy(runner_checkpoint, tmp_path / runner_checkpoint.name)
    (tmp_path / 'last_checkpoint').write_text(
        str(tmp_path / runner_checkpoint.name))
    runner = build_runner(tmp_path, NUM_ITERS + 1, resume=True)
    runner.train()
    assert runner.iter == NUM_ITERS + 1
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == (
        NUM_ITERS + 1)


@pytest.mark.slow  # trains a Runner (runner_checkpoint)
def test_pretrained_init_cfg(runner_checkpoint):
    module = PretrainedLinear(
        init_cfg=dict(type='Pretrained', checkpoint=str(runner_checkpoint)))
    module.init_weights()
    torch.testing.assert_close(module.linear.weight,
                               saved_weight(runner_checkpoint))


def test_foreign_object_is_refused_with_opt_in_hint(foreign_checkpoint):
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(LinearRegressor(), str(foreign_checkpoint))
    message = str(refused.value)
    assert '`fractions.Fraction`' in message
    assert f'{ALLOW_UNSAFE_ENV}=1' in message
    assert 'allow_unsafe_checkpoint_load' in message


def test_opt_in_loads_trusted_file(foreign_checkpoint, monkeypatch):
    with allow_unsafe_checkpoint_load():
        checkpoint = load_checkpoint(LinearRegressor(),
                                     str(foreign_checkpoint))
    assert checkpoint['meta']['ratio'] == fractions.Fraction(1, 3)

    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(LinearRegressor(), str(foreign_checkpoint))

    monkeypatch.setenv(ALLOW_UNSAFE_ENV, '1')
    checkpoint = load_checkpoint(LinearRegressor(), str(foreign_checkpoint))
    assert checkpoint['meta']['ratio'] == fractions.Fraction(1, 3)


def test_reduce_payload_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'hostile.pth'
    torch.save(dict(meta=Reduces(os.makedirs, (str(marker), ))), path)
    with pytest.raises(UnsafeCheckpointError, match='`os.makedirs`'):
        load_checkpoint(LinearRegressor(), str(path))
    with pytest.raises(pickle.UnpicklingError, match='os.makedirs'):
        torch.load(path)
    assert not marker.exists()


@pytest.mark.parametrize('owner,name', [(HistoryBuffer, '__init__'),
                                        (HistoryBuffer, 'register_statistics'),
                                        (np.ndarray, 'tofile')])
def test_getattr_is_limited_to_history_buffer_statistics(
        tmp_path, owner, name):
    path = tmp_path / 'getattr.pth'
    torch.save(dict(meta=Reduces(getattr, (owner, name))), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        load_checkpoint(LinearRegressor(), str(path))


def test_registration_is_idempotent():
    before = list(torch.serialization.get_safe_globals())
    register_checkpoint_safe_globals()
    register_checkpoint_safe_globals()
    assert sorted(map(repr, torch.serialization.get_safe_globals())) == (
        sorted(map(repr, before)))


def test_allow_list_only_where_torch_loads_weights_only():
    assert compat.loads_weights_only_by_default('2.6.0')
    assert compat.loads_weights_only_by_default('2.14.1+cu130')
    assert not compat.loads_weights_only_by_default('2.1.2')
    assert not compat.loads_weights_only_by_default('2.5.1+cu121')


def test_mmengine_workarounds_only_up_to_the_checked_release():
    assert compat.mmengine_needs_workarounds('0.10.7')
    assert compat.mmengine_needs_workarounds('0.10.3')
    assert not compat.mmengine_needs_workarounds('0.10.8')
    assert not compat.mmengine_needs_workarounds('0.11.0')


def test_every_workaround_applies_to_the_installed_versions():
    """On an upgrade this fails: check each workaround of compat.py against
    the new release, then remove it or move its guard."""
    assert compat.loads_weights_only_by_default()
    assert compat.mmengine_needs_workarounds()
    assert compat.fsdp_gathers_optimizer_states_into_one_buffer()


def test_cpu_ddp_wrapper_has_no_device_ids():
    from mmengine.config import Config
    cfg = Config(dict(find_unused_parameters=True))
    wrapper = compat.cpu_ddp_wrapper_cfg(cfg)
    assert wrapper == dict(type='MMDistributedDataParallel',
                           broadcast_buffers=False,
                           find_unused_parameters=True, device_ids=None)
    cfg.model_wrapper_cfg = dict(type='NoSuchWrapper')
    with pytest.raises(KeyError, match='NoSuchWrapper'):
        compat.cpu_ddp_wrapper_cfg(cfg)


def test_cpu_process_group_needs_torchrun_variables(monkeypatch):
    from mmengine.config import Config
    for var in compat.TORCHRUN_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match='tools/dist_train.sh'):
        compat.init_cpu_process_group(Config())
