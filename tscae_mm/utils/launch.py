"""Fit a config to the launcher and device, then build the MMEngine Runner
(for ``tools/train.py`` and ``tools/test.py``).

- Distributed runs without CUDA (``--launcher pytorch`` under ``torchrun`` on
  CPU machines): the gloo process group is started from torchrun's
  environment variables and the DDP wrapper gets ``device_ids=None``
  (MMEngine 0.10.7 assumes CUDA there; :mod:`tscae_mm.utils.compat`,
  section 2). With CUDA nothing changes (NCCL, as the config says).
- Runner: the config's ``runner_type`` (looked up in the registries of its
  ``default_scope``), else MMEngine's ``Runner``. For a runner without our
  checkpoint handling (MMEngine's own), ``--resume`` is resolved here
  (:func:`resolve_resume`): the newest intact checkpoint, not a broken
  ``last_checkpoint`` or a truncated file.
- Mixed precision: ``--amp`` and AMP configs train with
  :class:`DeviceAmpOptimWrapper`, ``AmpOptimWrapper`` on a GPU and bfloat16
  on CPU, so one config trains with ``--amp`` on either.
- FSDP (``--fsdp``): :func:`enable_fsdp` switches a config to MMEngine's
  FlexibleRunner (``ReliableFlexibleRunner``) with ``TSCAEFSDPStrategy``;
  :func:`enable_activation_checkpointing` (``--activation-checkpointing``)
  checkpoints the encoder's blocks, with DDP or FSDP.
"""
import copy
import logging
import os.path as osp

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

from ..engine.config_checks import (
    check_tscae_config,
    makes_complementary_masks,
)
from ..engine.optimizers.device_amp_optim_wrapper import amp_device_available
from ..engine.runners.reliable_checkpoints import (
    ReliableCheckpointsMixin,
    find_resume_checkpoint,
    refuse_incomplete_checkpoint,
)
from .compat import (
    cpu_ddp_wrapper_cfg,
    init_cpu_process_group,
    launches_on_cpu,
)
from .cpu_threads import configure_cpu_threads, log_cpu_threads

FLEXIBLE_RUNNER = 'ReliableFlexibleRunner'
# The strategy of configs/_base_/fsdp.py (tests/test_fsdp.py checks they
# agree).
DEFAULT_FSDP_STRATEGY = dict(
    type='TSCAEFSDPStrategy',
    state_dict_cfg='full',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        sharding_strategy='FULL_SHARD',
        use_orig_params=True,
        auto_wrap_policy=dict(type='transformer_block_wrap_policy')))


def prepare_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher``; on CPU-only machines start CPU DDP ourselves.

    Without CUDA, ``--launcher pytorch`` starts the gloo process group here
    (MMEngine then does not start one), records ``gloo`` as the config's
    ``env_cfg.dist_cfg.backend``, gives the DDP wrapper ``device_ids=None``
    and runs the model's ``SyncBN`` layers (PyTorch's, CUDA only) as
    ``SyncBNAnyDevice`` (:func:`sync_bn_for_cpu`).

    Args:
        cfg: The run's config, changed in place.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        RuntimeError: ``'slurm'`` or ``'mpi'`` without CUDA, or ``'pytorch'``
            without torchrun's environment variables.
    """
    cfg.launcher = launcher
    if launcher in ('slurm', 'mpi') and not torch.cuda.is_available():
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA (MMEngine binds each process '
            'to a GPU). For distributed runs on CPU use --launcher pytorch '
            '(bash tools/dist_train.sh CONFIG NUM_PROCESSES).')
    if launcher != 'pytorch' or torch.cuda.is_available():
        return
    if launches_on_cpu():  # MMEngine's launcher and DDP wrapper need CUDA
        init_cpu_process_group(cfg)
        cfg.model_wrapper_cfg = cpu_ddp_wrapper_cfg(cfg)
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    sync_bn_for_cpu(cfg)


def sync_bn_for_cpu(cfg: Config) -> int:
    """Replace ``norm_cfg`` type ``SyncBN`` by ``SyncBNAnyDevice`` in
    ``cfg.model`` (in place; same parameters and statistics, synchronised
    over gloo) and log how many; returns that number.

    PyTorch's SyncBatchNorm synchronises CUDA tensors only, so a GPU config
    (plain ``SyncBN``, the fastest there) would fail in a CPU DDP run.
    """
    replaced = 0
    pending = [cfg.get('model')]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get('type') == 'SyncBN':
                node['type'] = 'SyncBNAnyDevice'
                replaced += 1
            pending.extend(node.values())
        elif isinstance(node, (list, tuple)):
            pending.extend(node)
    if replaced:
        print_log(
            f'CPU distributed run: {replaced} SyncBN layer config(s) run as '
            "SyncBNAnyDevice (PyTorch's SyncBatchNorm needs CUDA).",
            logger='current')
    return replaced


def enable_amp(cfg: Config) -> None:
    """Turn on mixed precision: :class:`DeviceAmpOptimWrapper` with dynamic
    loss scaling (``AmpOptimWrapper`` on a GPU, bfloat16 autocast without
    loss scaling on CPU), the wrapper the package's AMP configs use.

    Args:
        cfg: The run's config (``optim_wrapper`` changed in place).

    Raises:
        ValueError: the config has no ``optim_wrapper`` (nothing to train).
    """
    if cfg.get('optim_wrapper') is None:
        raise ValueError('--amp needs an `optim_wrapper` in the config, and '
                         'this config has none.')
    cfg.optim_wrapper.type = 'DeviceAmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def fit_amp_to_device(cfg: Config) -> None:
    """Without an accelerator, run an ``AmpOptimWrapper`` config (a
    toolbox's, or one of the user's) as :class:`DeviceAmpOptimWrapper`.

    MMEngine's ``AmpOptimWrapper`` refuses to start without one;
    ``DeviceAmpOptimWrapper`` is that wrapper where it can run and bfloat16
    autocast without loss scaling on CPU (``loss_scale`` checked, unused),
    so the config's other values stay as they are. A log line says so.
    Configs without AMP, and runs with an accelerator, are unchanged.

    Args:
        cfg: The run's config (``optim_wrapper`` changed in place).
    """
    optim_wrapper = cfg.get('optim_wrapper') or {}
    if (amp_device_available()
            or optim_wrapper.get('type') != 'AmpOptimWrapper'):
        return
    optim_wrapper.type = 'DeviceAmpOptimWrapper'
    print_log(
        'No GPU: the config\'s AmpOptimWrapper runs as '
        'DeviceAmpOptimWrapper, mixed precision on CPU in bfloat16 (no loss '
        "scaling: bfloat16 has float32's exponent range).",
        logger='current')


def enable_fsdp(cfg: Config) -> None:
    """Train with FSDP: MMEngine's FlexibleRunner (as
    ``ReliableFlexibleRunner``) and, unless the config names a strategy,
    :data:`DEFAULT_FSDP_STRATEGY` (one FSDP unit per transformer block, full
    checkpoints written by rank 0).

    Args:
        cfg: The run's config (``runner_type`` and ``strategy`` changed in
            place).
    """
    cfg.runner_type = FLEXIBLE_RUNNER
    if not cfg.get('strategy'):
        cfg.strategy = ConfigDict(copy.deepcopy(DEFAULT_FSDP_STRATEGY))


def enable_activation_checkpointing(cfg: Config) -> None:
    """Checkpoint the encoder's transformer blocks (``with_cp=True`` on
    ``model.backbone``): their activations are recomputed in backward.

    Raises:
        ValueError: the config's model has no ``backbone``, or one that is
            not a ``TSCAEViT`` (the encoder that implements ``with_cp``).
    """
    backbone = (cfg.get('model') or {}).get('backbone')
    if not backbone or backbone.get('type') != 'TSCAEViT':
        raise ValueError(
            '--activation-checkpointing checkpoints the blocks of a TSCAEViT '
            'encoder (model.backbone.type=\'TSCAEViT\'), but this config\'s '
            f'model.backbone is {backbone and backbone.get("type")!r}; set '
            'with_cp (if its backbone has one) with --cfg-options instead.')
    backbone.with_cp = True


def release_process_group(synchronize: bool = False) -> None:
    """Destroy the default process group, if this process started one.

    MMEngine's runners leave it to interpreter shutdown, where gloo's worker
    threads can be torn down while still joinable: the process then aborts
    ("terminate called without an active exception") after its work is done
    and saved, and torchrun reports the whole run as failed. The entry
    points call this when training or testing ends, normally or not.

    Args:
        synchronize (bool): Wait at a barrier first, so that no rank tears
            its group down while another still has collectives in flight
            (the abort was seen once more, under heavy load, without it).
            Only where every rank ended normally: after a failure the other
            ranks may never arrive.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        if synchronize:
            torch_dist.barrier()
        torch_dist.destroy_process_group()


def default_work_dir(config_path: str) -> str:
    """./work_dirs/<config file name without extension>."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def resolve_resume(cfg: Config) -> None:
    """Choose the checkpoint of ``resume`` / ``load_from`` for a runner
    that lacks our checkpoint handling (MMEngine's ``Runner``): with
    ``resume=True`` and no ``load_from``, the newest intact checkpoint of
    the work dir (:func:`~tscae_mm.engine.runners.reliable_checkpoints.
    find_resume_checkpoint`, warning about a broken ``last_checkpoint`` or
    a truncated file) becomes ``load_from``; a ``load_from`` that is not
    intact is refused, naming the newest intact one.

    Args:
        cfg: The run's config (``load_from`` set in place).

    Raises:
        IncompleteCheckpointError: No intact checkpoint where one is asked
            for.
    """
    resume = cfg.get('resume') is True
    if resume and cfg.get('load_from') is None:
        cfg.load_from = find_resume_checkpoint(
            cfg.work_dir,
            lambda message: print_log(
                message, logger='current', level=logging.WARNING))
    elif cfg.get('load_from') is not None:
        refuse_incomplete_checkpoint(cfg.load_from, resume=resume)


def runner_class(cfg: Config):
    """The class ``cfg.runner_type`` names (MMEngine's ``Runner`` when
    unset), looked up in the registries of the config's scope."""
    runner_type = cfg.get('runner_type')
    if runner_type is None:
        return Runner
    return (RUNNERS.get(runner_type)
            if isinstance(runner_type, str) else runner_type)


def build_runner(cfg: Config) -> Runner:
    """The Runner the config asks for (``runner_type``) or MMEngine's own.

    First, a config that trains TSCAE (its training pipeline makes
    complementary masks) is checked
    (:func:`~tscae_mm.engine.check_tscae_config`): image sizes, patch sizes
    and masks that disagree are refused, naming the values, before anything
    is built. Then the CPU thread count is chosen and logged
    (:func:`~tscae_mm.utils.cpu_threads.configure_cpu_threads`). A runner
    other than ours gets its resume checkpoint from
    :func:`resolve_resume`.

    Args:
        cfg: The complete run config (after the command-line options).

    Raises:
        ConfigMismatchError: The TSCAE config is inconsistent.
    """
    if makes_complementary_masks(cfg):
        check_tscae_config(cfg)
    configure_cpu_threads()
    if 'runner_type' in cfg and cfg.get('default_scope') is not None:
        init_default_scope(cfg.default_scope)
    cls = runner_class(cfg)
    if not (isinstance(cls, type)
            and issubclass(cls, ReliableCheckpointsMixin)):
        resolve_resume(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    log_cpu_threads(runner.logger)
    return runner
