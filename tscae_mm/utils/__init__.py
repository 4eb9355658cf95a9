"""Run-time support: launching (``tools/train.py`` / ``tools/test.py``), CPU
threads, plugin-import messages, and every workaround for MMEngine 0.10.7 /
torch >= 2.6 (:mod:`tscae_mm.utils.compat`).

``register_checkpoint_safe_globals()`` (called by ``import tscae_mm``) lets
``torch.load(weights_only=True)`` read MMEngine Runner checkpoints; see
:mod:`tscae_mm.utils.compat` for the opt-in for trusted files.
"""
from ..engine.optimizers import CPUAmpOptimWrapper
from .compat import (
    ALLOW_UNSAFE_ENV,
    UnsafeCheckpointError,
    allow_unsafe_checkpoint_load,
    register_checkpoint_safe_globals,
)
from .launch import (
    build_runner,
    default_work_dir,
    enable_activation_checkpointing,
    enable_amp,
    enable_fsdp,
    fit_amp_to_device,
    prepare_launcher,
    release_process_group,
)

__all__ = [
    'ALLOW_UNSAFE_ENV', 'UnsafeCheckpointError',
    'allow_unsafe_checkpoint_load', 'register_checkpoint_safe_globals',
    'CPUAmpOptimWrapper', 'build_runner', 'default_work_dir', 'enable_amp',
    'fit_amp_to_device', 'prepare_launcher', 'enable_fsdp',
    'enable_activation_checkpointing', 'release_process_group'
]
