"""Non-finite losses and weights: NonFiniteLossHook stops naming the
iteration, or skips the step, and never writes a non-finite checkpoint."""
import pytest
import torch
from mmengine.hooks import Hook

import tscae_mm  # noqa: F401
from tscae_mm.engine import NonFiniteLossError, NonFiniteLossHook

from reliability_runs import ToyDataset, newest_log, toy_runner

# every test trains a toy model through a Runner
pytestmark = pytest.mark.slow


def weights_are_finite(runner) -> bool:
    return all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_non_finite_loss_stops_naming_the_iteration(tmp_path):
    runner = toy_runner(
        tmp_path,
        'nan_raise',
        dataset=ToyDataset(poisoned=[4]),
        custom_hooks=[dict(type='NonFiniteLossHook')])
    with pytest.raises(NonFiniteLossError) as stopped:
        runner.train()
    message = str(stopped.value)
    assert message.startswith('Non-finite loss at iteration 3 (epoch 1; '
                              'loss on rank 0: nan)')
    assert 'last checkpoint: none written yet' in message
    assert weights_are_finite(runner)
    assert not list(tmp_path.glob('*.pth'))


def test_non_finite_loss_step_is_skipped_when_configured(tmp_path):
    runner = toy_runner(
        tmp_path,
        'nan_skip',
        dataset=ToyDataset(poisoned=[4]),
        custom_hooks=[dict(type='NonFiniteLossHook', action='skip')])
    runner.train()
    assert weights_are_finite(runner)
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 2
    log = newest_log(tmp_path)
    assert ('Non-finite loss at iteration 3 (epoch 1; loss on rank 0: nan): '
            'skipped this optimizer step (1 skipped so far, 1 in a row)'
            in log)
    assert 'skipped_steps: 2' in log
    assert (tmp_path / 'epoch_2.pth').is_file()


def test_too_many_skips_in_a_row_stop(tmp_path):
    runner = toy_runner(
        tmp_path,
        'nan_many',
        dataset=ToyDataset(poisoned=range(8)),
        custom_hooks=[
            dict(
                type='NonFiniteLossHook',
                action='skip',
                max_consecutive_skips=2)
        ])
    with pytest.raises(
            NonFiniteLossError,
            match='iteration 3 .* after 2 skipped steps in a row'):
        runner.train()


class PoisonWeightsHook(Hook):
    """Put a NaN into the weights at the end of the first epoch."""

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves

    def after_train_epoch(self, runner):
        with torch.no_grad():
            runner.model.hidden.weight[0, 0] = float('nan')


def test_checkpoint_with_non_finite_weights_is_not_written(tmp_path):
    runner = toy_runner(
        tmp_path,
        'nan_weights',
        custom_hooks=[NonFiniteLossHook(),
                      PoisonWeightsHook()])
    with pytest.raises(
            NonFiniteLossError,
            match=r'Refusing to save a checkpoint .* 1 weight '
            r'tensor\(s\) hold NaN or infinity \(hidden.weight\)'):
        runner.train()
    assert not list(tmp_path.glob('epoch_*'))
