"""Test a checkpoint with an MMEngine config (mmpretrain, mmdet, mmseg or a
tscae_mm benchmark config; the config's ``default_scope`` picks the
registries) on the config's ``test_dataloader`` / ``test_evaluator``.

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out work_dirs/preds.pkl
    bash tools/dist_test.sh CONFIG CHECKPOINT 8          # 8 processes

Importing ``tscae_mm`` registers the TSCAE parts and lets checkpoints written
by the MMEngine Runner load with ``torch.load(weights_only=True)``. A config
read here may name its bases ``tscae_mm::<path>`` (a config under configs/,
:mod:`tscae_mm.utils.config_scope`); the toolboxes' own scripts need path
bases instead (README, "Inheriting our configs").
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
from tscae_mm.utils import (
    build_runner,
    default_work_dir,
    prepare_launcher,
    release_process_group,
)
from tscae_mm.utils.config_scope import enabled as tscae_mm_config_names
from tscae_mm.utils.plugin_imports import (
    explain_unregistered_types,
    warn_if_plugin_not_imported,
)

PICKLE_SUFFIXES = ('.pkl', '.pickle')


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Test a checkpoint.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file to test')
    parser.add_argument(
        '--work-dir',
        help='folder for the test logs and metrics (default: the config\'s '
        'work_dir, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='also dump every prediction to this .pkl file (MMEngine '
        'DumpResults)')
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
    if args.out is not None and not args.out.endswith(PICKLE_SUFFIXES):
        parser.error(f'--out must name a .pkl or .pickle file, got {args.out}')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_prediction_dump(cfg: Config, out_file: str) -> None:
    """Append MMEngine's ``DumpResults`` metric to the test evaluator."""
    evaluator = cfg.test_evaluator
    metrics = list(evaluator) if isinstance(evaluator,
                                            (list, tuple)) else [evaluator]
    cfg.test_evaluator = [
        *metrics, dict(type='DumpResults', out_file_path=out_file)
    ]


def require_test_loop(cfg: Config, config_path: str) -> None:
    """Refuse configs that define no test (e.g. pre-training configs).

    Raises:
        ValueError: a ``test_dataloader``, ``test_evaluator`` or ``test_cfg``
            is missing.
    """
    missing = [
        key for key in ('test_dataloader', 'test_evaluator', 'test_cfg')
        if cfg.get(key) is None
    ]
    if missing:
        raise ValueError(
            f'{config_path} defines no test: {", ".join(missing)} missing. '
            'Use a benchmark (fine-tuning / detection / segmentation) config, '
            'or add them with --cfg-options.')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config (in place)."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    cfg.load_from = args.checkpoint
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    require_test_loop(cfg, args.config)
    if args.out is not None:
        add_prediction_dump(cfg, args.out)
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    with tscae_mm_config_names():  # `tscae_mm::<path>` bases
        cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    warn_if_plugin_not_imported(cfg, args.config)
    prepare_launcher(cfg, args.launcher)
    try:
        with explain_unregistered_types(cfg):
            build_runner(cfg).test()
        release_process_group(synchronize=True)  # every rank is done
    finally:
        release_process_group()


if __name__ == '__main__':
    main()
