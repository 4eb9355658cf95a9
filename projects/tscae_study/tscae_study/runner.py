"""The CPU-sized study of docs/results.md: TSCAE (reference and token-drop
modes) vs MAE vs a randomly initialised encoder on CIFAR-10, clean and
degraded pre-training images.

Stages (all by default, in this order; each skips what is already done and
resumes an interrupted pre-training or fine-tuning run from its last epoch):

- ``prepare``: extract the CIFAR-10 JPEG archive (``--archive``) to
  ``--data-root`` (``data/cifar10``) and write the image lists to its
  ``meta`` folder:
  ``pretrain_5k.txt`` (500 training images per class, drawn with seed 0, no
  labels: the pre-training set), ``train_5k.txt`` (the same images with
  labels: the probing / fine-tuning set), ``test.txt`` (all 10,000 test
  images: evaluation only) and ``test_1k.txt`` (100 per class: the per-epoch
  k-NN curve, with ``train_2k``, the first 200 per class of ``train_5k``, as
  its bank).
- ``pretrain``: ``tools/train.py`` on each study config
  (``projects/tscae_study/configs``; 6 epochs, seed 0).
- ``knn-curve``: k-NN accuracy of every epoch's encoder (bank:
  ``train_2k``; queries: ``test_1k``).
- ``evaluate``: k-NN and linear probe of the last epoch's encoder and of the
  random-init floor, on the full test set (``tools/evaluate_encoder.py``).
- ``diagnose``: collapse statistics of every epoch's model (mean cosine
  between images and between the tokens of an image, effective rank; for
  TSCAE also of its teacher / student passes) on 256 test images.
- ``finetune``: ``tools/train.py`` on the fine-tuning config for each encoder
  and for the random init; top-1 on the full test set.
- ``report``: ``docs/results/*.json``, the tables (``docs/results/tables.md``)
  and the plots (``docs/results/*.png``).

Every path is an option relative to the current directory, and the
trainings run ``tools/train.py`` from there: run it from the repository
root. Usage::

    python tools/run_study.py                      # everything (about 2 h)
    python tools/run_study.py --stages prepare \
        --archive ../shared/data/cifar10-jpg.tar.gz  # data only
    python tools/run_study.py --runs tscae mae --stages pretrain
"""
import argparse
import os.path as osp
from typing import List, Optional

from .report import (
    comparison_plot,
    comparison_verdicts,
    describe_images,
    has_figures,
    loss_history,
    report,
)
from .runs import (
    CLASSES,
    COMMANDS,
    COMPARISON,
    DATA_ROOT,
    DEFAULT_RUNS,
    DEGRADATION,
    DEGRADATIONS,
    FINETUNE_CONFIG,
    MAX_EPOCHS,
    RANDOM_INIT,
    RUNS,
    SCREENING_EPOCHS,
    SEED,
    SEEDED_RUNS,
    STAGES,
    Run,
    config_file,
    config_label,
    degradation_options,
    parse_key,
    run_key,
)
from .stages import (
    add_wallclock,
    checkpoint_path,
    diagnose,
    evaluate,
    finetune,
    finetune_options,
    finetune_result,
    frozen_eval,
    knn_curve,
    prepare,
    pretrain,
    pretrain_options,
    warm_start,
    with_random_init,
)

__all__ = [
    'add_wallclock', 'CLASSES', 'COMMANDS', 'COMPARISON', 'DEFAULT_RUNS',
    'DEGRADATION',
    'DEGRADATIONS', 'FINETUNE_CONFIG', 'MAX_EPOCHS', 'RANDOM_INIT', 'RUNS',
    'SCREENING_EPOCHS', 'SEED', 'SEEDED_RUNS', 'STAGES', 'Run',
    'checkpoint_path', 'comparison_plot', 'comparison_verdicts',
    'config_file', 'config_label',
    'degradation_options', 'describe_images', 'diagnose', 'evaluate',
    'finetune', 'finetune_options', 'finetune_result', 'frozen_eval',
    'has_figures', 'knn_curve', 'loss_history', 'main', 'parse_args',
    'parse_key', 'prepare', 'pretrain', 'pretrain_options', 'report',
    'run_key', 'warm_start', 'with_random_init'
]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--stages', nargs='+', choices=STAGES, default=list(STAGES))
    parser.add_argument(
        '--runs', nargs='+', choices=['all', *RUNS], default=DEFAULT_RUNS,
        help='runs of the stages (default: the study\'s, screening and '
        'diagnostics left out); all: every run (e.g. for the report)')
    parser.add_argument(
        '--seeds', nargs='+', type=int, default=[SEED],
        help='seeds of each run (default: 0). Seed 0 works in '
        'work_dirs/study/<run>, seed s in <run>-seed<s>; the seed sets the '
        "encoder's initialisation, the data order, the crops and the masks; "
        'the image lists stay fixed')
    parser.add_argument(
        '--archive',
        help='the CIFAR-10 JPEG archive (cifar10/{train,test}/<class>/*.jpg, '
        'e.g. ../shared/data/cifar10-jpg.tar.gz); needed by the prepare '
        'stage until --data-root holds the extracted images')
    parser.add_argument(
        '--data-root', default=DATA_ROOT,
        help='the extracted CIFAR-10 images and their lists (default: '
        '%(default)s, where the study configs read them; another folder is '
        'passed to the trainings with --cfg-options)')
    parser.add_argument(
        '--work-dir', default=osp.join('work_dirs', 'study'),
        help='the runs\' work dirs and evaluations (default: %(default)s)')
    parser.add_argument(
        '--out', default=osp.join('docs', 'results'),
        help='the report: study.json, tables.md, plots (default: '
        '%(default)s; results.md beside it and configs/tscae/README.md of '
        'the same checkout get the tables)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    runs = list(RUNS) if 'all' in args.runs else args.runs
    keys = [run_key(name, seed) for name in runs for seed in args.seeds]
    if 'prepare' in args.stages:
        prepare(args.archive, args.data_root)
    if 'pretrain' in args.stages:
        pretrain(keys, args.work_dir, args.data_root)
    if 'knn-curve' in args.stages:
        knn_curve(keys, args.work_dir, args.data_root)
    if 'evaluate' in args.stages:
        evaluate(keys, args.work_dir, args.data_root)
    if 'diagnose' in args.stages:
        diagnose(keys, args.work_dir, args.data_root)
    if 'finetune' in args.stages:
        finetune(keys, args.work_dir, args.data_root)
    if 'report' in args.stages:
        report(keys, args.work_dir, args.out)


if __name__ == '__main__':
    main()

