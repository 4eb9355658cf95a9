"""Train with an MMEngine config: TSCAE / MAE pre-training or any mmpretrain,
mmdet or mmseg config (the config's ``default_scope`` picks the registries).

Examples::

    python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp
    python tools/train.py CONFIG --resume                # latest in work dir
    python tools/train.py CONFIG --resume work_dirs/run1/epoch_10.pth
    bash tools/dist_train.sh CONFIG 8                    # 8 processes
    bash tools/dist_train.sh CONFIG 8 --fsdp             # sharded (FSDP)
    bash tools/dist_train.sh CONFIG 8 --fsdp --activation-checkpointing

Importing ``tscae_mm`` registers the TSCAE parts and lets checkpoints written
by the MMEngine Runner load with ``torch.load(weights_only=True)``. A config
read here may name its bases ``tscae_mm::<path>`` (a config under configs/,
:mod:`tscae_mm.utils.config_scope`); the toolboxes' own scripts need path
bases instead (README, "Inheriting our configs"). Distributed
runs use NCCL with CUDA and gloo on CPU-only machines; ``--amp`` uses
``DeviceAmpOptimWrapper``: ``AmpOptimWrapper`` on a GPU, bfloat16 on CPU.
``--fsdp`` (or a config with ``strategy`` and ``runner_type =
'ReliableFlexibleRunner'``, configs/_base_/fsdp.py) trains with FSDP through
MMEngine's FlexibleRunner; docs/scaling.md says when to use it.
"""
import argparse
import os
import os.path as osp
import runpy
import sys

# tools/ of a checkout (also reached as its link tscae_mm/.mim/tools, which
# `mim train tscae_mm` runs), or tscae_mm/.mim/tools of an installed wheel
REPO_ROOT = osp.dirname(osp.dirname(osp.realpath(__file__)))
IN_CHECKOUT = osp.isfile(osp.join(REPO_ROOT, 'tscae_mm', '__init__.py'))
PACKAGE_DIR = (osp.join(REPO_ROOT, 'tscae_mm')
               if IN_CHECKOUT else osp.dirname(REPO_ROOT))
# OpenMP threads sleep instead of spinning while they wait, unless the user
# chose (tscae_mm/utils/cpu_threads.py); read once, when torch loads OpenMP,
# so this runs before anything imports torch.
runpy.run_path(osp.join(PACKAGE_DIR, 'utils',
                        'cpu_threads.py'))['set_openmp_env_defaults']()
if IN_CHECKOUT and REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction

import tscae_mm  # noqa: F401
from tscae_mm.engine.config_checks import warn_if_schedule_and_loop_disagree
from tscae_mm.utils import (
    build_runner,
    default_work_dir,
    enable_activation_checkpointing,
    enable_amp,
    enable_fsdp,
    fit_amp_to_device,
    prepare_launcher,
    release_process_group,
)
from tscae_mm.utils.config_scope import enabled as tscae_mm_config_names
from tscae_mm.utils.plugin_imports import (
    explain_unregistered_types,
    warn_if_plugin_not_imported,
)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Train a model.')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and checkpoints (default: the config\'s '
        'work_dir, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision with dynamic loss scaling (bfloat16 on CPU)')
    parser.add_argument(
        '--fsdp',
        action='store_true',
        help='shard parameters, gradients and optimizer states over the '
        'processes (FSDP through MMEngine\'s FlexibleRunner; needs a '
        'distributed launch, e.g. tools/dist_train.sh)')
    parser.add_argument(
        '--activation-checkpointing',
        action='store_true',
        help='recompute the encoder blocks\' activations in backward '
        '(model.backbone.with_cp=True): less memory, about a third more '
        'encoder compute; with DDP or --fsdp')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        'the config\'s auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, xxx=yyy (lists as key="[a,b]", no '
        'spaces)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_resume(cfg: Config, resume) -> None:
    """``--resume`` (auto) -> resume from the work dir; a path -> from it."""
    if resume is None:
        return
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume


def enable_auto_scale_lr(cfg: Config) -> None:
    """Switch on ``auto_scale_lr``; the config must give the base batch size.

    Raises:
        ValueError: ``auto_scale_lr.base_batch_size`` is missing.
    """
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
        raise ValueError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
            'in the config (N: the total batch size its lr was tuned for).')
    cfg.auto_scale_lr.enable = True


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config (in place)."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.amp:
        enable_amp(cfg)
    if getattr(args, 'fsdp', False):
        enable_fsdp(cfg)
    if getattr(args, 'activation_checkpointing', False):
        enable_activation_checkpointing(cfg)
    apply_resume(cfg, args.resume)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    fit_amp_to_device(cfg)
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    with tscae_mm_config_names():  # `tscae_mm::<path>` bases
        cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    warn_if_plugin_not_imported(cfg, args.config)
    if cfg.get('runner_type') != 'ReliableRunner':  # it checks the config
        warn_if_schedule_and_loop_disagree(cfg)
    prepare_launcher(cfg, args.launcher)
    try:
        with explain_unregistered_types(cfg):
            build_runner(cfg).train()
        release_process_group(synchronize=True)  # every rank is done
    finally:
        release_process_group()


if __name__ == '__main__':
    main()
