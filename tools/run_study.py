"""The CPU-sized study of docs/results.md: TSCAE (reference and token-drop
modes) vs MAE vs a randomly initialised encoder on CIFAR-10, clean and
degraded pre-training images.

Stages (all by default, in this order; each skips what is already done and
resumes an interrupted pre-training or fine-tuning run from its last epoch):

- ``prepare``: extract the CIFAR-10 JPEG archive (``--archive``) to
  ``data/cifar10`` and write the image lists to ``data/cifar10/meta``:
  ``pretrain_5k.txt`` (500 training images per class, drawn with seed 0, no
  labels: the pre-training set), ``train_5k.txt`` (the same images with
  labels: the probing / fine-tuning set), ``test.txt`` (all 10,000 test
  images: evaluation only) and ``test_1k.txt`` (100 per class: the per-epoch
  k-NN curve, with ``train_2k``, the first 200 per class of ``train_5k``, as
  its bank).
- ``pretrain``: ``tools/train.py`` on each study config (6 epochs, seed 0).
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

Usage::

    python tools/run_study.py                      # everything (about 2 h)
    python tools/run_study.py --stages prepare \
        --archive ../shared/data/cifar10-jpg.tar.gz  # data only
    python tools/run_study.py --runs tscae mae --stages pretrain
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tscae_mm of this checkout
    sys.path.insert(0, REPO_ROOT)
from tscae_mm.study.comparison import (
    METRICS,
    Setting,
    build_comparison,
    comparison_table,
    degradation_drops,
    drop_table,
    drop_verdict,
    verdict,
)

PYTHON = sys.executable
STAGES = ('prepare', 'pretrain', 'knn-curve', 'evaluate', 'diagnose',
          'finetune', 'report')
CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
           'horse', 'ship', 'truck')
SEED = 0
PRETRAIN_PER_CLASS = 500
CURVE_TEST_PER_CLASS = 100
CURVE_BANK_PER_CLASS = 200
FINETUNE_CONFIG = 'configs/study/vit-tiny-d6-p4_ft-3e_cifar10-5k.py'


class Run(NamedTuple):
    """One pre-training run of the study."""
    config: str
    label: str
    method: str  # tscae | tscae_token_drop | mae | tscae_<variant>
    images: str  # clean | resample2
    # screening runs train the first SCREENING_EPOCHS epochs of the study's
    # 6-epoch schedule (the same learning rates), then stop
    screening: bool = False
    # a run whose config is a screening run's continues from that run's
    # last checkpoint instead of repeating its epochs (the schedules are the
    # same; resumption is exact, tests/test_resume.py)
    warm_start: Optional[str] = None
    # extra ``--cfg-options`` of the pre-training command (e.g. a
    # degradation of the pre-training images on top of a degraded config)
    options: Tuple[str, ...] = ()
    # pre-training epochs when the config's differ from the study's 6 (the
    # equal-time MAE); the config's train_cfg.max_epochs must agree
    max_epochs: Optional[int] = None

    @property
    def epochs(self) -> int:
        if self.max_epochs is not None:
            return self.max_epochs
        return SCREENING_EPOCHS if self.screening else MAX_EPOCHS


def run_key(name: str, seed: int) -> str:
    """The work dir / result name of run ``name`` with ``seed``: the name
    itself for seed 0 (the study's first seed), ``<name>-seed<seed>``
    otherwise."""
    if seed < 0:
        raise ValueError(f'seeds are non-negative ints, got {seed}')
    return name if seed == 0 else f'{name}-seed{seed}'


def parse_key(key: str) -> Tuple[str, int]:
    """Inverse of :func:`run_key`: ``(name, seed)``."""
    name, sep, seed = key.rpartition('-seed')
    if sep and seed.isdigit():
        return name, int(seed)
    return key, 0


SCREENING_EPOCHS = 3
SCREENING = 'configs/study/screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_'
RECOMMENDED = 'configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py'
RECOMMENDED_TOKEN_DROP = ('configs/study/tscae_vit-tiny-d6-p4-token-drop_6e_'
                          'cifar10-5k_recommended.py')
# configs with an ImageDegradation step at index 1 of the pre-training
# pipeline (resample, severity 2); other degradations are set with
# --cfg-options on that step
DEGRADED_MAE = 'configs/study/mae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py'
DEGRADED_RECOMMENDED = ('configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k-'
                        'resample2_recommended.py')
# the degradations tried on the pre-training images, in the order tried
# (tscae_mm/datasets/degradations.py, severities 1..5): the search for one
# that costs MAE's linear probe at least 2 points stopped at the first
DEGRADATIONS = {
    'blur4': ('blur', 4, 'Gaussian blur, sigma 2 px'),
    'noise5': ('noise', 5, 'Gaussian noise, std 48 grey levels'),
}
DEGRADATION = 'noise5'  # the one found: MAE and the recommended TSCAE on it


def degradation_options(images: str) -> Tuple[str, ...]:
    """``--cfg-options`` that set the ImageDegradation step of a degraded
    study config to ``DEGRADATIONS[images]``."""
    kind, severity, _ = DEGRADATIONS[images]
    step = 'train_dataloader.dataset.dataset.pipeline.1'
    return (f'{step}.kind={kind}', f'{step}.severity={severity}')


RUNS: Dict[str, Run] = {
    'tscae':
    Run('configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'TSCAE (reference)', 'tscae', 'clean'),
    'mae':
    Run('configs/study/mae_vit-tiny-d6-p4_6e_cifar10-5k.py', 'MAE', 'mae',
        'clean'),
    'tscae_token_drop':
    Run('configs/study/tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k.py',
        'TSCAE (token-drop)', 'tscae_token_drop', 'clean'),
    'tscae_resample2':
    Run('configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py',
        'TSCAE (reference)', 'tscae', 'resample2'),
    'mae_resample2':
    Run('configs/study/mae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py', 'MAE',
        'mae', 'resample2'),
    # the recommended configuration's full study run: its screening run,
    # continued from epoch 3 to the study's 6 epochs
    'tscae_recommended':
    Run(RECOMMENDED, 'TSCAE (recommended: one-way token contrast)',
        'tscae_recommended', 'clean', warm_start='screen_one_sided'),
    # the recommended configuration in token-drop mode, continued from its
    # screening run
    'tscae_recommended_token_drop':
    Run(RECOMMENDED_TOKEN_DROP,
        'TSCAE (recommended, token-drop passes)',
        'tscae_token_drop_recommended', 'clean',
        warm_start='screen_one_sided_token_drop'),
    # MAE for the recommended TSCAE's wall-clock (the config says how the
    # epochs were counted)
    'mae_equal_time':
    Run('configs/study/mae_vit-tiny-d6-p4_equal-time-22e_cifar10-5k.py',
        'MAE', 'mae', 'clean', max_epochs=22),
    # the runner-up of the screening, continued to 6 epochs as well
    'tscae_one_sided_stop_grad_global':
    Run(SCREENING + 'one-sided_stop-grad-global.py',
        'TSCAE, one-way contrast + stop-gradient global target',
        'tscae_one_sided_stop_grad_global', 'clean',
        warm_start='screen_one_sided_stop_grad_global'),
    # the best k-NN of the screening, continued to 6 epochs as well
    'tscae_vicreg':
    Run(SCREENING + 'vicreg.py',
        'TSCAE, variance / covariance term on h_S', 'tscae_vicreg', 'clean',
        warm_start='screen_vicreg'),
    # image quality: MAE on each candidate degradation (seed 0) to find one
    # that costs MAE's linear probe at least 2 points; then MAE and the
    # recommended TSCAE on it with every seed
    **{
        f'mae_{images}': Run(DEGRADED_MAE, 'MAE', 'mae', images,
                             options=degradation_options(images))
        for images in DEGRADATIONS
    },
    f'tscae_recommended_{DEGRADATION}':
    Run(DEGRADED_RECOMMENDED, 'TSCAE (recommended: one-way token contrast)',
        'tscae_recommended', DEGRADATION,
        options=degradation_options(DEGRADATION)),
    # diagnostic, not part of the default set (docs/results.md, "Why")
    'diag_no_contrast':
    Run('configs/study/diagnostics/'
        'tscae_vit-tiny-d6-p4_6e_cifar10-5k_no-contrast.py',
        'TSCAE (reference) without token contrast', 'tscae_no_contrast',
        'clean'),
    # screening of the anti-collapse switches (docs/results.md, "Making
    # TSCAE learn"): each alone on the reference passes, then combinations,
    # then the most promising in token-drop mode
    'screen_reference':
    Run('configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'reference (no switch)', 'tscae', 'clean', screening=True),
    'screen_ema':
    Run(SCREENING + 'ema.py', 'momentum target encoder', 'tscae_ema',
        'clean', screening=True),
    'screen_one_sided':
    Run(RECOMMENDED, 'one-way token contrast (the recommended '
        'configuration)', 'tscae_one_sided', 'clean', screening=True),
    'screen_infonce':
    Run('configs/study/diagnostics/'
        'tscae_vit-tiny-d6-p4_6e_cifar10-5k_infonce.py',
        'InfoNCE token contrast', 'tscae_infonce', 'clean', screening=True),
    'screen_dino_global':
    Run(SCREENING + 'dino-global.py',
        'global target: stop-gradient, centering, sharpening',
        'tscae_dino_global', 'clean', screening=True),
    'screen_vicreg':
    Run(SCREENING + 'vicreg.py', 'variance / covariance term on h_S',
        'tscae_vicreg', 'clean', screening=True),
    'screen_ema_dino_global':
    Run(SCREENING + 'ema_dino-global.py',
        'momentum target + one-way contrast + DINO-style global target',
        'tscae_ema_dino_global', 'clean', screening=True),
    'screen_one_sided_stop_grad_global':
    Run(SCREENING + 'one-sided_stop-grad-global.py',
        'one-way contrast + stop-gradient global target',
        'tscae_one_sided_stop_grad_global', 'clean', screening=True),
    'screen_one_sided_stop_grad_global_norm_pix':
    Run(SCREENING + 'one-sided_stop-grad-global_norm-pix.py',
        'one-way contrast + stop-gradient global target + normalised pixel '
        'targets', 'tscae_one_sided_stop_grad_global_norm_pix', 'clean',
        screening=True),
    'screen_one_sided_vicreg':
    Run(SCREENING + 'one-sided_vicreg.py',
        'one-way contrast + variance / covariance term on h_S',
        'tscae_one_sided_vicreg', 'clean', screening=True),
    'screen_one_sided_token_drop':
    Run(RECOMMENDED_TOKEN_DROP,
        'one-way token contrast, token-drop passes (the recommended '
        'configuration)', 'tscae_token_drop_one_sided', 'clean',
        screening=True),
    'screen_ema_token_drop':
    Run('configs/study/screening/tscae_vit-tiny-d6-p4-token-drop_6e_'
        'cifar10-5k_ema.py', 'momentum target encoder, token-drop passes',
        'tscae_token_drop_ema', 'clean', screening=True),
    'screen_one_sided_stop_grad_global_token_drop':
    Run('configs/study/screening/tscae_vit-tiny-d6-p4-token-drop_6e_'
        'cifar10-5k_one-sided_stop-grad-global.py',
        'one-way contrast + stop-gradient global target, token-drop passes',
        'tscae_token_drop_one_sided_stop_grad_global', 'clean',
        screening=True),
    # what learning looks like at the screening length
    'screen_mae':
    Run('configs/study/mae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'MAE (for comparison)', 'mae', 'clean', screening=True),
}
RANDOM_INIT = 'random_init'
# the seeded comparison (docs/results.md, "TSCAE vs MAE, with seeds"), in
# table order; every seed of each run that has results
COMPARISON = [
    Setting(RANDOM_INIT),
    Setting('mae'),
    Setting('tscae'),
    Setting('tscae_recommended', recommended=True),
    Setting('tscae_recommended_token_drop'),
    Setting('mae_equal_time', equal_time=True),
    Setting('mae_resample2'),
    Setting('tscae_resample2'),
    *(Setting(f'{method}_{images}') for images in DEGRADATIONS
      for method in ('mae', 'tscae_recommended')),
]
# the runs of the seeded comparison (every seed)
SEEDED_RUNS = [
    'mae', 'tscae', 'tscae_recommended', 'tscae_recommended_token_drop',
    'mae_equal_time', f'mae_{DEGRADATION}', f'tscae_recommended_{DEGRADATION}'
]
COMMANDS = [
    'python tools/run_study.py --stages prepare --archive '
    '../shared/data/cifar10-jpg.tar.gz',
    '# seed 0 of the single-seed study and the screening: docs/results.md',
    'python tools/run_study.py --stages pretrain evaluate --runs '
    'mae_blur4 mae_noise5  # the degradation search (MAE, seed 0)',
    'python tools/run_study.py --stages pretrain evaluate finetune --runs ' +
    ' '.join(SEEDED_RUNS) + ' --seeds 0 1',
    'python tools/run_study.py --stages report --runs all --seeds 0 1',
]
DEFAULT_RUNS = [
    name for name, run in RUNS.items()
    if not name.startswith('diag_') and not run.screening
]
TABLES_BEGIN = '<!-- tables: written by tools/run_study.py, do not edit -->'
TABLES_END = '<!-- end of tables -->'
RESULTS_BEGIN = '<!-- results: written by tools/run_study.py, do not edit -->'
RESULTS_END = '<!-- end of results -->'
MAX_EPOCHS = 6


def log(msg: str) -> None:
    print(f'[run_study {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def run_command(cmd: List[str], log_file: str) -> float:
    """Run ``cmd`` from the repository root, output appended to
    ``log_file``; return its wall-clock seconds; raise if it fails."""
    env = dict(os.environ)
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    log(' '.join(cmd) + f'  (log: {log_file})')
    start = time.time()
    with open(log_file, 'a') as f:
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{cmd[1]} failed (exit {proc.returncode}) after '
                           f'{seconds:.0f} s; see the end of {log_file}. '
                           'Rerunning resumes where it stopped.')
    return seconds


def add_wallclock(path: str, seconds: float) -> None:
    """Sum the wall-clock of every segment of a (resumed) job in ``path``."""
    record = {'seconds': 0., 'segments': []}
    if osp.exists(path):
        with open(path) as f:
            record = json.load(f)
    record['segments'].append(round(seconds, 1))
    record['seconds'] = round(sum(record['segments']), 1)
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)


# ----------------------------------------------------------------- prepare
def prepare(archive: Optional[str], data_root: str) -> None:
    """Extract the archive (once) and write the seeded image lists."""
    if not all(
            osp.isdir(osp.join(data_root, split, c)) for split in
        ('train', 'test') for c in CLASSES):
        if archive is None:
            raise FileNotFoundError(
                f'{data_root} does not hold the CIFAR-10 images yet: pass '
                '--archive (the CIFAR-10 JPEG archive, cifar10/{train,test}/'
                '<class>/*.jpg, e.g. ../shared/data/cifar10-jpg.tar.gz).')
        if not osp.exists(archive):
            raise FileNotFoundError(
                f'{archive} not found: pass --archive (the CIFAR-10 JPEG '
                'archive, cifar10/{train,test}/<class>/*.jpg).')
        parent = osp.dirname(osp.abspath(data_root))
        log(f'extracting {archive} into {parent} ...')
        os.makedirs(parent, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(parent, filter='data')
        if not osp.isdir(osp.join(data_root, 'train')):
            raise RuntimeError(
                f'{archive} did not give {data_root}/train: the archive '
                'must hold cifar10/{train,test}/<class>/*.jpg.')
    rng = np.random.default_rng(SEED)
    lists = {
        'pretrain_5k': [],
        'train_5k': [],
        'train_2k': [],
        'test': [],
        'test_1k': []
    }
    for label, cls in enumerate(CLASSES):
        train = sorted(os.listdir(osp.join(data_root, 'train', cls)))
        test = sorted(os.listdir(osp.join(data_root, 'test', cls)))
        if len(train) < PRETRAIN_PER_CLASS or len(
                test) < CURVE_TEST_PER_CLASS:
            raise RuntimeError(
                f'{data_root}: class {cls} has {len(train)} training and '
                f'{len(test)} test images; the study needs at least '
                f'{PRETRAIN_PER_CLASS} and {CURVE_TEST_PER_CLASS}.')
        picked = sorted(rng.choice(len(train), PRETRAIN_PER_CLASS, False))
        for n, i in enumerate(picked):
            lists['pretrain_5k'].append(f'train/{cls}/{train[i]}')
            lists['train_5k'].append(f'train/{cls}/{train[i]} {label}')
            if n < CURVE_BANK_PER_CLASS:
                lists['train_2k'].append(f'train/{cls}/{train[i]} {label}')
        curve = set(rng.choice(len(test), CURVE_TEST_PER_CLASS, False))
        for i, name in enumerate(test):
            lists['test'].append(f'test/{cls}/{name} {label}')
            if i in curve:
                lists['test_1k'].append(f'test/{cls}/{name} {label}')
    os.makedirs(osp.join(data_root, 'meta'), exist_ok=True)
    for name, lines in lists.items():
        with open(osp.join(data_root, 'meta', f'{name}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    log(f'image lists in {data_root}/meta: ' +
        ', '.join(f'{k} {len(v)}' for k, v in lists.items()))


# ---------------------------------------------------------------- pretrain
def checkpoint_path(work_dir: str, name: str, epoch: int) -> str:
    return osp.join(work_dir, name, f'epoch_{epoch}.pth')


def pretrain_options(key: str) -> List[str]:
    """The ``--cfg-options`` of run ``key``'s pre-training command."""
    name, seed = parse_key(key)
    run = RUNS[name]
    options = list(run.options)
    if run.screening:
        options.append(f'train_cfg.max_epochs={run.epochs}')
    if seed != 0:  # the study configs set randomness.seed=0
        options.append(f'randomness.seed={seed}')
    return options


def pretrain(keys: List[str], work_dir: str) -> None:
    for key in keys:
        run = RUNS[parse_key(key)[0]]
        if osp.exists(checkpoint_path(work_dir, key, run.epochs)):
            log(f'{key}: pre-trained already')
            continue
        run_dir = osp.join(work_dir, key)
        if run.warm_start:
            warm_start(key, work_dir)
        cmd = [
            PYTHON, 'tools/train.py', run.config, '--work-dir', run_dir,
            '--resume'
        ]
        options = pretrain_options(key)
        if options:
            cmd += ['--cfg-options'] + options
        seconds = run_command(cmd, osp.join(run_dir, 'study_train.log'))
        add_wallclock(osp.join(run_dir, 'study_wallclock.json'), seconds)


def warm_start(key: str, work_dir: str) -> None:
    """Start run ``key``'s work dir as a hard-linked copy of its warm-start
    run's with the same seed (checkpoints hard-linked; logs, wall-clock
    copied), resuming from its last epoch; from scratch where that run has
    not been made."""
    name, seed = parse_key(key)
    run, source_name = RUNS[name], RUNS[name].warm_start
    source = run_key(source_name, seed)
    run_dir, source_dir = osp.join(work_dir, key), osp.join(work_dir, source)
    if osp.exists(osp.join(run_dir, 'last_checkpoint')):
        return
    if (RUNS[source_name].config, RUNS[source_name].options) != (
            run.config, run.options):
        raise ValueError(f'{name} can only continue {source_name} if both '
                         f'use one config; got {run.config} and '
                         f'{RUNS[source_name].config}.')
    last = checkpoint_path(work_dir, source, RUNS[source_name].epochs)
    if not osp.exists(last):
        log(f'{key}: {source} has no {last}; training from the start')
        return
    log(f'{key}: continuing {source} from {last}')
    shutil.copytree(  # checkpoints hard-linked, logs copied
        source_dir,
        run_dir,
        copy_function=lambda src, dst: os.link(src, dst)
        if src.endswith('.pth') else shutil.copy2(src, dst))
    with open(osp.join(run_dir, 'last_checkpoint'), 'w') as f:
        f.write(checkpoint_path(work_dir, key, RUNS[source_name].epochs))


# -------------------------------------------------------------- evaluation
def load_json(path: str) -> Optional[dict]:
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def save_json(path: str, data) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(path + '.tmp', path)


def frozen_eval(config: str, checkpoint: Optional[str], data_root: str,
                train_list: str, test_list: str, linear: bool,
                seed: int = SEED) -> dict:
    """k-NN (and linear-probe) top-1 of one encoder, in this process;
    ``seed`` draws the weights of a random-init encoder (no checkpoint)."""
    import torch

    from tscae_mm.evaluation import (
        build_encoder,
        encoder_spec,
        knn_accuracy,
        labelled_features,
        linear_probe,
    )
    start = time.time()
    torch.manual_seed(seed)
    spec = encoder_spec(config)
    encoder = build_encoder(spec, checkpoint)
    xtr, ytr = labelled_features(encoder, spec, data_root,
                                 osp.join(data_root, 'meta',
                                          f'{train_list}.txt'))
    xte, yte = labelled_features(encoder, spec, data_root,
                                 osp.join(data_root, 'meta',
                                          f'{test_list}.txt'))
    result = dict(
        checkpoint=checkpoint,
        train_list=train_list,
        test_list=test_list,
        knn_top1=knn_accuracy(xtr, ytr, xte, yte))
    if linear:
        result['linear_top1'] = linear_probe(xtr, ytr, xte, yte)
    result['seconds'] = round(time.time() - start, 1)
    return result


def knn_curve(keys: List[str], work_dir: str, data_root: str) -> None:
    """k-NN accuracy after every epoch (epoch 0: the run's own random
    init, its first checkpoint where there is one, else seed 0's)."""
    for key in keys:
        name, seed = parse_key(key)
        path = osp.join(work_dir, 'eval', f'{key}_knn_curve.json')
        curve = load_json(path) or {}
        for epoch in range(RUNS[name].epochs + 1):
            if str(epoch) in curve:
                continue
            ckpt = None if epoch == 0 else checkpoint_path(
                work_dir, key, epoch)
            if ckpt is not None and not osp.exists(ckpt):
                log(f'{key}: no {ckpt} yet (pretrain stage); k-NN curve '
                    f'stops at epoch {epoch - 1}')
                break
            curve[str(epoch)] = frozen_eval(RUNS[name].config, ckpt,
                                            data_root, 'train_2k',
                                            'test_1k', False, seed)
            log(f'{key} epoch {epoch}: k-NN top-1 '
                f'{curve[str(epoch)]["knn_top1"]:.2f} (train_2k / test_1k)')
            save_json(path, curve)


def with_random_init(keys: List[str]) -> List[str]:
    """``keys`` preceded by the random-init floor of each of their seeds."""
    seeds = sorted({parse_key(key)[1] for key in keys} | {SEED})
    return [run_key(RANDOM_INIT, seed) for seed in seeds] + list(keys)


def evaluate(keys: List[str], work_dir: str, data_root: str) -> None:
    """k-NN and linear probe on the full test set: last epoch and floor."""
    for key in with_random_init(keys):
        name, seed = parse_key(key)
        path = osp.join(work_dir, 'eval', f'{key}.json')
        if osp.exists(path):
            continue
        config = RUNS['tscae'].config if name == RANDOM_INIT else \
            RUNS[name].config
        ckpt = None if name == RANDOM_INIT else checkpoint_path(
            work_dir, key, RUNS[name].epochs)
        if ckpt is not None and not osp.exists(ckpt):
            log(f'{key}: no {ckpt} yet (pretrain stage); not evaluated')
            continue
        result = frozen_eval(config, ckpt, data_root, 'train_5k', 'test',
                             True, seed)
        log(f'{key}: k-NN {result["knn_top1"]:.2f}, linear probe '
            f'{result["linear_top1"]:.2f} (train_5k / test)')
        save_json(path, result)


def diagnose(keys: List[str], work_dir: str, data_root: str) -> None:
    """Collapse statistics (tscae_mm/evaluation/feature_stats.py) of every
    epoch's model on 256 test images, masks drawn with seed 0."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmpretrain.registry import MODELS

    from tscae_mm.datasets import ComplementaryMaskGenerator
    from tscae_mm.evaluation import (
        encoder_spec,
        load_image_list,
        load_images,
        pass_stats,
        plain_stats,
        quiet_init_weights,
    )
    init_default_scope('mmpretrain')
    paths, _ = load_image_list(data_root,
                               osp.join(data_root, 'meta', 'test_1k.txt'))
    for key in keys:
        name, seed = parse_key(key)
        path = osp.join(work_dir, 'eval', f'{key}_stats.json')
        stats = load_json(path) or {}
        cfg = Config.fromfile(osp.join(REPO_ROOT, RUNS[name].config))
        spec = encoder_spec(osp.join(REPO_ROOT, RUNS[name].config))
        images = load_images(spec, paths[:256])
        np.random.seed(SEED)
        masker = ComplementaryMaskGenerator(
            input_size=spec.img_size, patch_size=spec.patch_size,
            mask_ratio=0.75)
        mask = torch.from_numpy(
            np.stack([masker.transform({})['mask'] for _ in images]))
        for epoch in range(RUNS[name].epochs + 1):
            ckpt = checkpoint_path(work_dir, key, epoch)
            if str(epoch) in stats or (epoch and not osp.exists(ckpt)):
                continue
            torch.manual_seed(seed)
            model = MODELS.build(cfg.model)
            quiet_init_weights(model)
            if epoch:
                model.load_state_dict(
                    _load_checkpoint(ckpt, map_location='cpu')['state_dict'])
            model.eval()
            record = plain_stats(model.backbone, images)
            if RUNS[name].method.startswith('tscae'):
                record.update(pass_stats(model, images, mask))
            stats[str(epoch)] = record
            save_json(path, stats)
        last = stats[max(stats, key=int)]
        log(f'{key}: ' + ', '.join(f'{k} {v:.3f}' for k, v in last.items()))


def scalar_records(work_dir: str):
    """Every record of the ``vis_data/scalars.json`` files of a work dir,
    oldest segment (run or resumption) first."""
    for stamp in sorted(os.listdir(work_dir)):
        scalars = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if osp.exists(scalars):
            with open(scalars) as f:
                for line in f:
                    yield json.loads(line)


def finetune_result(ft_dir: str) -> Optional[float]:
    """The last ``accuracy/top1`` logged in a fine-tuning work dir."""
    top1 = None
    for record in scalar_records(ft_dir):
        if 'accuracy/top1' in record:
            top1 = record['accuracy/top1']
    return top1


def finetune_options(key: str, work_dir: str) -> List[str]:
    """The ``--cfg-options`` of run ``key``'s fine-tuning command: its
    encoder (none: the random init) and its seed (head, data order, crops;
    the random init's weights)."""
    name, seed = parse_key(key)
    options = []
    if name != RANDOM_INIT:
        options = [
            'model.backbone.init_cfg.type=Pretrained',
            'model.backbone.init_cfg.checkpoint=' +
            checkpoint_path(work_dir, key, RUNS[name].epochs),
            'model.backbone.init_cfg.prefix=backbone.'
        ]
    if seed != 0:
        options.append(f'randomness.seed={seed}')
    return options


def finetune(keys: List[str], work_dir: str) -> None:
    """Fine-tune each pre-trained encoder and the random init."""
    from mmengine.config import Config
    epochs = Config.fromfile(osp.join(REPO_ROOT,
                                      FINETUNE_CONFIG)).train_cfg.max_epochs
    for key in with_random_init(keys):
        name = parse_key(key)[0]
        ft_dir = osp.join(work_dir, 'finetune', key)
        path = osp.join(work_dir, 'eval', f'{key}_finetune.json')
        if osp.exists(path):
            continue
        if name != RANDOM_INIT and not osp.exists(
                checkpoint_path(work_dir, key, RUNS[name].epochs)):
            log(f'{key}: not pre-trained yet (pretrain stage); not '
                'fine-tuned')
            continue
        options = finetune_options(key, work_dir)
        seconds = run_command([
            PYTHON, 'tools/train.py', FINETUNE_CONFIG, '--work-dir', ft_dir,
            '--resume'
        ] + (['--cfg-options'] + options if options else []),
            osp.join(ft_dir, 'study_finetune.log'))
        add_wallclock(osp.join(ft_dir, 'study_wallclock.json'), seconds)
        top1 = finetune_result(ft_dir)
        if top1 is None or not osp.exists(
                osp.join(ft_dir, f'epoch_{epochs}.pth')):
            raise RuntimeError(f'{ft_dir}: the fine-tuning ended without a '
                               'test accuracy; see study_finetune.log.')
        log(f'{key}: fine-tuned top-1 {top1:.2f}')
        save_json(path, dict(top1=top1, epochs=epochs,
                             config=FINETUNE_CONFIG))


# ------------------------------------------------------------------ report
# what the verdicts compare: (a, b, claim)
CLAIMS = (
    ('tscae_recommended', 'mae', 'TSCAE (recommended) vs MAE, equal epochs'),
    ('tscae_recommended', 'mae_equal_time',
     'TSCAE (recommended) vs MAE, equal wall-clock'),
    ('tscae_recommended_token_drop', 'mae',
     'TSCAE (recommended, token-drop) vs MAE, equal epochs'),
    ('tscae_recommended', 'tscae', 'TSCAE: recommended vs reference'),
    ('tscae', 'mae', 'TSCAE (reference) vs MAE, equal epochs'),
    ('tscae_recommended', RANDOM_INIT, 'TSCAE (recommended) vs random init'),
    ('mae', RANDOM_INIT, 'MAE vs random init'),
)


def comparison_verdicts(records: List[dict]) -> List[str]:
    """One line per claim and metric (tscae_mm.study.comparison.verdict),
    then, per degradation with both methods, which loses less."""
    by = {r['setting']: r for r in records}
    lines = []
    for a, b, claim in CLAIMS:
        if a in by and b in by:
            lines += [verdict(by[a], by[b], metric, f'{claim}, {name}')
                      for metric, name in METRICS]
    drops = {(d['method'], d['images']): d
             for d in degradation_drops(records)}
    for images in ['resample2', *DEGRADATIONS]:
        mae, tscae = drops.get(('mae', images)), drops.get(
            ('tscae_recommended', images))
        if mae is None or tscae is None:
            continue
        lines += [drop_verdict(tscae, mae, metric,
                               f'change under {describe_images(images)}, '
                               f'{name}') for metric, name in METRICS]
    return lines


def describe_images(images: str) -> str:
    if images == 'resample2':
        return '3x down- and up-sampling'
    if images in DEGRADATIONS:
        return DEGRADATIONS[images][2]
    return images

def loss_history(run_dir: str) -> Dict[str, List[List[float]]]:
    """Training losses by iteration over every (resumed) segment of a run;
    a re-run iteration keeps its last value."""
    history: Dict[str, Dict[int, float]] = {}
    for record in scalar_records(run_dir):
        for key, value in record.items():
            if key.startswith('loss') or key == 'time':
                history.setdefault(key, {})[record['step']] = value
    return {
        key: [[step, values[step]] for step in sorted(values)]
        for key, values in history.items()
    }


def fmt(value: Optional[float], digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def has_figures(entry: Optional[dict]) -> bool:
    """Whether a study.json entry holds an evaluation."""
    return bool(entry) and any(
        entry.get(key) is not None
        for key in ('knn_top1', 'linear_top1', 'finetune_top1'))


def report(names: List[str], work_dir: str, out: str) -> None:
    """Collect every figure into ``out``: study.json, tables.md, PNGs."""
    import platform

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch

    eval_dir = osp.join(work_dir, 'eval')
    # What an earlier report recorded stays: a run whose work dir is not on
    # this machine keeps its committed figures (docs/results/).
    previous = (load_json(osp.join(out, 'study.json')) or {}).get('runs', {})

    def eval_file(name: str, suffix: str = '') -> Optional[dict]:
        return load_json(osp.join(eval_dir, f'{name}{suffix}.json')) or \
            load_json(osp.join(out, 'eval', f'{name}{suffix}.json'))

    entries = {}
    for name in with_random_init(names):
        run = RUNS.get(parse_key(name)[0])
        frozen = eval_file(name) or {}
        ft = eval_file(name, '_finetune') or {}
        if not frozen and not ft and not has_figures(previous.get(name)):
            continue  # not evaluated (yet): no row
        entry = dict(
            label='random init' if run is None else run.label,
            method=RANDOM_INIT if run is None else run.method,
            images='-' if run is None else run.images,
            config=None if run is None else run.config,
            seed=parse_key(name)[1],
            screening=False if run is None else run.screening,
            pretrain_epochs=None if run is None else run.epochs,
            knn_top1=frozen.get('knn_top1'),
            linear_top1=frozen.get('linear_top1'),
            finetune_top1=ft.get('top1'))
        ft_clock = load_json(
            osp.join(work_dir, 'finetune', name, 'study_wallclock.json'))
        entry['finetune_seconds'] = ft_clock and ft_clock['seconds']
        if run is not None:
            clock = load_json(
                osp.join(work_dir, name, 'study_wallclock.json'))
            entry['pretrain_seconds'] = clock and clock['seconds']
            curve = eval_file(name, '_knn_curve') or {}
            entry['knn_curve'] = {
                int(e): r['knn_top1']
                for e, r in curve.items()
            }
            run_dir = osp.join(work_dir, name)
            entry['losses'] = loss_history(run_dir) if osp.isdir(
                run_dir) else {}
            times = [t for _, t in entry['losses'].pop('time', [])]
            entry['median_iter_seconds'] = float(
                np.median(times)) if times else None
            entry['collapse_stats'] = eval_file(name, '_stats')
        for key, value in previous.get(name, {}).items():
            if entry.get(key) in (None, {}):
                entry[key] = value
        entries[name] = entry
    for name, entry in previous.items():  # runs not reported this time
        if has_figures(entry):
            entries.setdefault(name, entry)
    for entry in entries.values():  # JSON turned the epochs into strings
        if entry.get('knn_curve'):
            entry['knn_curve'] = {
                int(e): v
                for e, v in entry['knn_curve'].items()
            }
    order = list(RUNS)  # tables in the order the runs are declared

    def position(key: str) -> Tuple[int, int]:
        name, seed = parse_key(key)
        return (order.index(name) if name in order else len(order), seed)

    names = sorted((name for name in entries
                    if parse_key(name)[0] != RANDOM_INIT), key=position)
    floors = sorted((name for name in entries
                     if parse_key(name)[0] == RANDOM_INIT), key=position)
    screened = [name for name in names if entries[name].get('screening')]
    names = [name for name in names if name not in screened]

    comparison = build_comparison(entries, COMPARISON)
    verdicts = comparison_verdicts(comparison)
    study = dict(
        settings=dict(
            seed=SEED,
            pretrain_images=PRETRAIN_PER_CLASS * len(CLASSES),
            pretrain_epochs=MAX_EPOCHS,
            finetune_config=FINETUNE_CONFIG,
            knn='k=20, temperature 0.07, cosine, weighted vote',
            linear_probe='standardised features, L-BFGS, L2 1e-4',
            feature='mean of patch tokens after the final norm',
            final_eval='bank / probe training set: train_5k (the '
            'pre-training images, labelled); test: all 10,000 test images',
            curve_eval='bank train_2k, queries test_1k'),
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            torch=torch.__version__,
            torch_threads=torch.get_num_threads()),
        commands=COMMANDS,
        comparison=comparison,
        verdicts=verdicts,
        runs=entries)
    save_json(osp.join(out, 'study.json'), study)
    # the per-encoder evaluation files, beside the summary
    os.makedirs(osp.join(out, 'eval'), exist_ok=True)
    for name in entries:
        for suffix in ('', '_knn_curve', '_stats', '_finetune'):
            src = osp.join(eval_dir, f'{name}{suffix}.json')
            if osp.exists(src):
                shutil.copy(src, osp.join(out, 'eval', f'{name}{suffix}.json'))

    rows = ['| encoder | pre-training images | seed | k-NN top-1 | linear '
            'probe top-1 | fine-tune top-1 | pre-training wall-clock | median '
            's / iteration |',
            '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for name in floors + names:
        e = entries[name]
        clock = e.get('pretrain_seconds')
        rows.append(
            f"| {e['label']} | {e['images']} | {e['seed']} | "
            f"{fmt(e['knn_top1'], 2)} | "
            f"{fmt(e['linear_top1'], 2)} | {fmt(e['finetune_top1'], 2)} | "
            f"{'-' if clock is None else f'{clock / 60:.1f} min'} | "
            f"{fmt(e.get('median_iter_seconds'), 2)} |")
    curve_names = [n for n in names if entries[n]['knn_curve']]
    curve = ['| epoch | ' + ' | '.join(
        f"{entries[n]['label']}, {entries[n]['images']}"
        for n in curve_names) + ' |', '| ---: |' + ' ---: |' * len(
            curve_names)]
    for epoch in range(MAX_EPOCHS + 1):
        curve.append(f'| {epoch} | ' + ' | '.join(
            fmt(entries[n]['knn_curve'].get(epoch), 1)
            for n in curve_names) + ' |')
    stat_keys = (('effective_rank', 'effective rank, pooled'),
                 ('between_images_cos', 'cos between images'),
                 ('within_image_cos', 'cos between tokens of an image'),
                 ('student_within_image_cos', 'student h_S: cos between '
                  'tokens'), ('student_global_between_images_cos',
                              'student g_S: cos between images'))
    collapse = ['| run | epoch | ' + ' | '.join(t for _, t in stat_keys) +
                ' |', '| --- | ---: |' + ' ---: |' * len(stat_keys)]
    for name in names:
        stats = entries[name].get('collapse_stats') or {}
        for epoch in ('0', str(MAX_EPOCHS)):
            if epoch in stats:
                collapse.append(
                    f"| {entries[name]['label']}, {entries[name]['images']}"
                    f' | {epoch} | ' + ' | '.join(
                        fmt(stats[epoch].get(k), 3) for k, _ in stat_keys) +
                    ' |')
    screen = [
        '| switches (on the reference, clean images) | k-NN top-1 | linear '
        'probe top-1 | k-NN, curve split | ' +
        ' | '.join(t for _, t in stat_keys) + ' | wall-clock |',
        '| --- | ---: | ---: | ---: |' + ' ---: |' * (len(stat_keys) + 1)
    ]
    for name in screened:
        e = entries[name]
        last = str(e['pretrain_epochs'])
        stats = (e.get('collapse_stats') or {}).get(last, {})
        clock = e.get('pretrain_seconds')
        screen.append(
            f"| {e['label']} | {fmt(e['knn_top1'], 2)} | "
            f"{fmt(e['linear_top1'], 2)} | "
            f"{fmt(e['knn_curve'].get(int(last)), 1)} | " +
            ' | '.join(fmt(stats.get(k), 3) for k, _ in stat_keys) +
            f" | {'-' if clock is None else f'{clock / 60:.1f} min'} |")
    drops = degradation_drops(comparison)
    tables = ('### TSCAE vs MAE, with seeds (CIFAR-10 test, 10,000 images; '
              'mean over the seeds, (min-max) in brackets)\n\n' +
              comparison_table(comparison) + '\n\n' +
              '### Degraded pre-training images, with seeds (change from '
              'clean images, mean over the seeds; spread of the clean / '
              'degraded runs in brackets)\n\n' + drop_table(
                  drops, {i: describe_images(i)
                          for i in ['resample2', *DEGRADATIONS]}) +
              '\n\n### Verdicts (written from the figures above)\n\n' +
              '\n'.join(f'- {line}' for line in verdicts) + '\n\n'
              '### Frozen and fine-tuned accuracy, every run '
              '(CIFAR-10 test, 10,000 images)\n\n' + '\n'.join(rows) +
              '\n\n### k-NN top-1 per pre-training '
              'epoch (bank train_2k, queries test_1k; epoch 0 is the '
              'random init)\n\n' + '\n'.join(curve) +
              '\n\n### Collapse statistics of the pre-trained models (256 '
              'test images; epoch 0: the initialisation)\n\n' +
              '\n'.join(collapse) + '\n')
    if screened:
        tables += (f'\n### Screening of the anti-collapse switches (the first '
                   f'{SCREENING_EPOCHS} epochs of the study schedule; frozen '
                   'evaluation and collapse statistics of the last '
                   'epoch)\n\n' + '\n'.join(screen) + '\n')
    with open(osp.join(out, 'tables.md'), 'w') as f:
        f.write('<!-- written by tools/run_study.py (report stage) -->\n\n' +
                tables)
    # configs/tscae/README.md carries the seeded comparison
    # (the checkout that holds `out`, i.e. docs/results of this repository)
    method_readme = osp.join(
        osp.dirname(osp.dirname(osp.abspath(out))), 'configs', 'tscae',
        'README.md')
    if osp.exists(method_readme):
        with open(method_readme) as f:
            text = f.read()
        begin, end = RESULTS_BEGIN, RESULTS_END
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = (head + begin + '\n' + comparison_table(comparison) +
                    '\n' + rest[rest.index(end):])
            with open(method_readme, 'w') as f:
                f.write(text)
    # docs/results.md carries the same tables between two markers
    results_md = osp.join(osp.dirname(out), 'results.md')
    if osp.exists(results_md):
        with open(results_md) as f:
            text = f.read()
        begin, end = TABLES_BEGIN, TABLES_END
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + begin + '\n' + tables + rest[rest.index(end):]
            with open(results_md, 'w') as f:
                f.write(text)

    colors = dict(
        tscae='tab:blue',
        tscae_token_drop='tab:green',
        mae='tab:red',
        tscae_no_contrast='tab:purple')
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name in names:
        e = entries[name]
        style = '-' if e['images'] == 'clean' else '--'
        label = f"{e['label']}, {e['images']}"
        pixel = e['losses'].get('loss_pixel') or e['losses'].get('loss')
        if pixel:
            x, y = zip(*pixel)
            axes[0].plot(x, y, style, color=colors.get(e['method']),
                         label=label)
        for ax, key in ((axes[1], 'loss_contrast'), (axes[2],
                                                     'loss_global')):
            if e['losses'].get(key):
                x, y = zip(*e['losses'][key])
                ax.plot(x, y, style, color=colors.get(e['method']),
                        label=label)
    axes[0].set_title('pixel loss (MAE: on per-patch normalised pixels)')
    axes[1].set_title('TSCAE token-contrast loss')
    axes[2].set_title('TSCAE global-consistency loss')
    axes[2].set_yscale('log')
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'pretrain_losses.png'), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in curve_names:
        e = entries[name]
        x, y = zip(*sorted(e['knn_curve'].items()))
        ax.plot(x, y, 'o-' if e['images'] == 'clean' else 'o--',
                color=colors.get(e['method']),
                label=f"{e['label']}, {e['images']}")
    ax.set_xlabel('pre-training epoch (0: random init)')
    ax.set_ylabel('k-NN top-1 (%)')
    ax.set_title('k-NN accuracy during pre-training')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'knn_curve.png'), dpi=110)
    plt.close(fig)
    comparison_plot(comparison, osp.join(out, 'comparison.png'))
    log(f'wrote {out}/study.json, tables.md, pretrain_losses.png, '
        'knn_curve.png, comparison.png')


def comparison_plot(records: List[dict], path: str) -> None:
    """Bars: the mean of each setting per metric; error bars: the seeds'
    min and max; dots: the seeds."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5 * len(METRICS), 4.5))
    for ax, (metric, name) in zip(axes, METRICS):
        shown = [r for r in records if r[f'{metric}_mean'] is not None]
        for i, r in enumerate(shown):
            mean = r[f'{metric}_mean']
            ax.bar(i, mean, color='tab:blue' if r['method'].startswith(
                'tscae') else 'tab:red' if r['method'] == 'mae' else
                'tab:gray', alpha=0.35 if r['images'] != 'clean' else 0.8)
            ax.errorbar(i, mean, yerr=[[mean - r[f'{metric}_min']],
                                       [r[f'{metric}_max'] - mean]],
                        color='black', capsize=4)
            values = [v for v in r[f'{metric}_values'] if v is not None]
            ax.plot([i] * len(values), values, 'k.', markersize=4)
        ax.set_xticks(range(len(shown)))
        ax.set_xticklabels([
            f"{r['label']}{' (eq. time)' if r['equal_time'] else ''}, "
            f"{r['images']}, n={r[f'{metric}_n']}" for r in shown
        ], rotation=60, ha='right', fontsize=7)
        low = min((r[f'{metric}_min'] for r in shown), default=0)
        ax.set_ylim(max(0, low - 5), None)
        ax.set_title(f'{name} top-1 (%): mean, seeds, min-max')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
        '--data-root', default=osp.join(REPO_ROOT, 'data', 'cifar10'))
    parser.add_argument(
        '--work-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'study'))
    parser.add_argument(
        '--out', default=osp.join(REPO_ROOT, 'docs', 'results'))
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    runs = list(RUNS) if 'all' in args.runs else args.runs
    keys = [run_key(name, seed) for name in runs for seed in args.seeds]
    if 'prepare' in args.stages:
        prepare(args.archive, args.data_root)
    if 'pretrain' in args.stages:
        pretrain(keys, args.work_dir)
    if 'knn-curve' in args.stages:
        knn_curve(keys, args.work_dir, args.data_root)
    if 'evaluate' in args.stages:
        evaluate(keys, args.work_dir, args.data_root)
    if 'diagnose' in args.stages:
        diagnose(keys, args.work_dir, args.data_root)
    if 'finetune' in args.stages:
        finetune(keys, args.work_dir)
    if 'report' in args.stages:
        report(keys, args.work_dir, args.out)


if __name__ == '__main__':
    main()
