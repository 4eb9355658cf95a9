"""Stop (or skip the step) on a non-finite loss; never save NaN weights."""
import functools
import logging
from typing import Callable

import torch
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import HOOKS

ACTIONS = ('raise', 'skip')
SKIPPED_STEPS_KEY = 'train/skipped_steps'


class NonFiniteLossError(FloatingPointError):
    """Training met a NaN or infinite loss, or NaN / infinite weights."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard the optimizer step against NaN and infinite losses.

    Before training the hook wraps each optimizer wrapper's ``update_params``
    (the call that runs backward and the optimizer step, for ``OptimWrapper``
    and ``AmpOptimWrapper`` alike). When the loss is not finite on any rank
    (the ranks agree through one all-reduce, so they all take the same
    decision), no backward and no step happen, and:

    - ``action='raise'`` (default): training stops with
      :class:`NonFiniteLossError` naming the iteration (1-based, as in the
      log) and the last checkpoint; the weights were never touched by that
      loss, so every checkpoint on disk is finite;
    - ``action='skip'``: the step is skipped with a warning naming the
      iteration, counted as ``skipped_steps`` in the log; more than
      ``max_consecutive_skips`` skips in a row stop training as above.

    Independently, a checkpoint whose weights hold NaN or infinity is never
    written: saving stops with :class:`NonFiniteLossError` instead.

    Args:
        action (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        max_consecutive_skips (int): With ``'skip'``, how many steps in a row
            may be skipped before training stops. Defaults to 10.
    """

    priority = 'NORMAL'

    def __init__(self,
                 action: str = 'raise',
                 max_consecutive_skips: int = 10) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action must be one of '
                             f'{ACTIONS}, got {action!r}.')
        if max_consecutive_skips < 1:
            raise ValueError('NonFiniteLossHook: max_consecutive_skips must '
                             f'be at least 1, got {max_consecutive_skips}.')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0

    def before_train(self, runner) -> None:
        """Wrap ``update_params`` of every optimizer wrapper of the run."""
        optim_wrapper = runner.optim_wrapper
        wrappers = (
            optim_wrapper.values() if isinstance(
                optim_wrapper, OptimWrapperDict) else [optim_wrapper])
        for wrapper in wrappers:
            wrapper.update_params = self.guarded(runner, wrapper)

    def guarded(self, runner, wrapper: OptimWrapper) -> Callable:
        """``wrapper.update_params`` that first checks the loss."""
        update_params = wrapper.update_params

        @functools.wraps(update_params)
        def update_params_if_finite(loss: torch.Tensor, *args, **kwargs):
            if not non_finite_on_any_rank(loss):
                self.consecutive_skips = 0
                return update_params(loss, *args, **kwargs)
            self.on_non_finite(runner, loss)

        return update_params_if_finite

    def on_non_finite(self, runner, loss: torch.Tensor) -> None:
        """Raise, or skip this step with a warning and a count."""
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}; '
                 f'loss on rank {get_rank()}: {loss.item()})')
        self.consecutive_skips += 1
        if (self.action == 'raise'
                or self.consecutive_skips > self.max_consecutive_skips):
            raise NonFiniteLossError(self.stop_message(runner, where))
        total = count_skipped_step(runner.message_hub)
        print_log(
            f'Non-finite loss at {where}: skipped this optimizer step '
            f'({total} skipped so far, {self.consecutive_skips} in a row).',
            logger='current',
            level=logging.WARNING)

    def stop_message(self, runner, where: str) -> str:
        """Why training stops, what is safe, and what to try."""
        repeated = (f' after {self.max_consecutive_skips} skipped steps in a '
                    'row' if self.action == 'skip' else '')
        last = runner.message_hub.get_info('last_ckpt', 'none written yet')
        return (f'Non-finite loss at {where}{repeated}. Training stopped '
                'before this loss changed the weights, so the weights and '
                f'every checkpoint written so far are finite (last '
                f'checkpoint: {last}). Lower the learning rate, enable '
                'gradient clipping (optim_wrapper.clip_grad), or set '
                "NonFiniteLossHook(action='skip') to skip such steps.")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write weights that hold NaN or infinity."""
        bad = [
            key for key, value in checkpoint['state_dict'].items()
            if torch.is_tensor(value) and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ]
        if bad:
            last = runner.message_hub.get_info('last_ckpt', 'none')
            raise NonFiniteLossError(
                f'Refusing to save a checkpoint at iteration {runner.iter} '
                f'(epoch {runner.epoch + 1}): {len(bad)} weight tensor(s) '
                f'hold NaN or infinity ({", ".join(bad[:5])}). The last good '
                f'checkpoint is {last}.')


def non_finite_on_any_rank(loss: torch.Tensor) -> bool:
    """True if ``loss`` is NaN or infinite here or on another rank."""
    flag = (~torch.isfinite(loss.detach())).any().float().reshape(1)
    if get_world_size() > 1:
        all_reduce(flag, op='max')
    return bool(flag.item())


def count_skipped_step(message_hub) -> int:
    """Add one to the logged ``skipped_steps`` count; return the total."""
    previous = (
        message_hub.get_scalar(SKIPPED_STEPS_KEY).current()
        if SKIPPED_STEPS_KEY in message_hub.log_scalars else 0)
    total = int(previous) + 1
    message_hub.update_scalar(SKIPPED_STEPS_KEY, total)
    return total
