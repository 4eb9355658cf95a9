"""MMEngine's ``FlexibleRunner`` (strategies: FSDP, DDP, DeepSpeed) with the
protections of :class:`~tscae_mm.engine.ReliableRunner`.

Select it in a config with ``runner_type = 'ReliableFlexibleRunner'`` and a
``strategy`` (``configs/_base_/fsdp.py``), or with ``tools/train.py
--fsdp``.
"""
import torch
from mmengine._strategy import FSDPStrategy
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.registry import RUNNERS, STRATEGIES
from mmengine.runner import FlexibleRunner
from torch.distributed.fsdp import StateDictType

from ...utils.cpu_threads import configure_cpu_threads, log_cpu_threads
from ..config_checks import check_runner_config
from .reliable_checkpoints import (
    TEMP_SUFFIX,
    ReliableCheckpointsMixin,
    replace_durably,
)

# Hooks that run the model on rank 0 alone, which a sharded model cannot do
# (the other ranks hold the rest of its weights).
RANK0_MODEL_HOOKS = ('TSCAECollapseMonitorHook', )


def is_fsdp_strategy(strategy) -> bool:
    """Whether ``strategy`` (an object or a config dict) shards the model."""
    if isinstance(strategy, dict):
        strategy_type = strategy.get('type')
        if isinstance(strategy_type, str):
            strategy_type = STRATEGIES.get(strategy_type)
        return isinstance(strategy_type, type) and issubclass(
            strategy_type, FSDPStrategy)
    return isinstance(strategy, FSDPStrategy)


@RUNNERS.register_module()
class ReliableFlexibleRunner(ReliableCheckpointsMixin, FlexibleRunner):
    """:class:`mmengine.runner.FlexibleRunner` that protects long runs.

    As :class:`~tscae_mm.engine.ReliableRunner`:

    - the config is checked before anything is built;
    - checkpoints written as one file (DDP, or FSDP with
      ``state_dict_cfg='full'``) go to a temporary file that is flushed and
      renamed over the final name by rank 0, so a killed run never leaves a
      truncated checkpoint under a checkpoint's name;
    - ``resume=True`` takes ``last_checkpoint``, else the newest
      ``epoch_N.pth`` / ``iter_N.pth``, else starts afresh and says so;
    - a checkpoint whose weights do not fit the model is refused (resume and
      ``load_from``), naming the missing, unexpected and reshaped keys; under
      FSDP the model's unsharded shapes are compared (full checkpoints; the
      per-rank shards of ``state_dict_cfg='local'`` are not checked).

    Under an FSDP strategy, hooks that run the model on rank 0 alone
    (``TSCAECollapseMonitorHook``) are left out, with a warning.

    Takes the same arguments as :class:`FlexibleRunner`.
    """

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get('cfg') is not None:
            check_runner_config(kwargs['cfg'])
        dropped = []
        if is_fsdp_strategy(kwargs.get('strategy')):
            kept = []
            for hook in kwargs.get('custom_hooks') or []:
                (dropped if hook_name(hook) in RANK0_MODEL_HOOKS else
                 kept).append(hook)
            if dropped:
                kwargs['custom_hooks'] = kept
        configure_cpu_threads()
        super().__init__(*args, **kwargs)
        log_cpu_threads(self.logger)
        for hook in dropped:
            self.logger.warning(
                f'{hook_name(hook)} is left out under FSDP: it runs the '
                'model on rank 0 alone, and each rank holds only a shard of '
                'the weights. Run it on a checkpoint instead, or train with '
                'DDP.')

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        """Save as :meth:`FlexibleRunner.save_checkpoint` (every rank calls
        it: FSDP gathers the weights), atomically on local disk."""
        backend = get_file_backend(
            out_dir, backend_args=kwargs.get('backend_args'))
        if (args or kwargs.get('file_client_args') is not None
                or not isinstance(backend, LocalBackend)
                or not self.checks_checkpoint_weights()):
            super().save_checkpoint(out_dir, filename, *args, **kwargs)
            return
        temp_name = f'{filename}{TEMP_SUFFIX}{self.timestamp}'
        super().save_checkpoint(out_dir, temp_name, **kwargs)
        if is_main_process():
            replace_durably(
                backend.join_path(out_dir, temp_name),
                backend.join_path(out_dir, filename))

    def checks_checkpoint_weights(self) -> bool:
        """Whether checkpoints hold the full, unsharded weights in one file
        (not FSDP's ``state_dict_cfg='local'``: one shard per rank, whose
        shapes are the shards')."""
        return (not isinstance(self.strategy, FSDPStrategy)
                or self.strategy.state_dict_type ==
                StateDictType.FULL_STATE_DICT)

    def model_state_shapes(self) -> dict:
        """``{name: meta tensor}`` of the unsharded model's state dict."""
        shapes = getattr(self.strategy, 'full_state_shapes', None)
        if not shapes:
            return super().model_state_shapes()
        return {
            name: torch.empty(shape, device='meta')
            for name, shape in shapes.items()
        }


def hook_name(hook) -> str:
    """The type name of a hook given as a config dict or an object."""
    return hook.get('type') if isinstance(hook, dict) else type(hook).__name__
