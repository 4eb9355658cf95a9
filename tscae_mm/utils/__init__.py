"""Run-time support: safe checkpoint loading, CPU mixed precision and DDP.

``register_checkpoint_safe_globals()`` (called by ``import tscae_mm``) lets
``torch.load(weights_only=True)`` read MMEngine Runner checkpoints; see
:mod:`tscae_mm.utils.checkpoint_safety` for the opt-in for trusted files.
"""
from .checkpoint_safety import (
    ALLOW_UNSAFE_ENV,
    UnsafeCheckpointError,
    allow_unsafe_checkpoint_load,
    register_checkpoint_safe_globals,
)
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
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
