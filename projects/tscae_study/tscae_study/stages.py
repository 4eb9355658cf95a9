"""The study's stages: prepare the data, pre-train, evaluate (k-NN, linear
probe, k-NN per epoch, collapse statistics) and fine-tune; each skips what
is done and resumes what was interrupted."""
import json
import os
import os.path as osp
import shutil
import subprocess
import tarfile
import time
from typing import List, Optional

import numpy as np

from .runs import (
    CLASSES,
    CURVE_BANK_PER_CLASS,
    CURVE_TEST_PER_CLASS,
    DATA_ROOT,
    FINETUNE_CONFIG,
    PRETRAIN_PER_CLASS,
    PYTHON,
    RANDOM_INIT,
    RUNS,
    SEED,
    TRAIN_SCRIPT,
    config_epochs,
    config_file,
    config_label,
    parse_key,
    run_key,
)


def log(msg: str) -> None:
    print(f'[run_study {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def run_command(cmd: List[str], log_file: str) -> float:
    """Run ``cmd`` in the current directory, output appended to
    ``log_file``; return its wall-clock seconds; raise if it fails."""
    env = dict(os.environ)
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    log(' '.join(cmd) + f'  (log: {log_file})')
    start = time.time()
    with open(log_file, 'a') as f:
        proc = subprocess.run(
            cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{cmd[1]} failed (exit {proc.returncode}) after '
                           f'{seconds:.0f} s; see the end of {log_file}. '
                           'Rerunning resumes where it stopped.')
    return seconds


def write_between_markers(path: str, begin: str, end: str,
                          text: str) -> bool:
    """Replace what stands between the lines ``begin`` and ``end`` of the
    file ``path`` with ``text``; False (nothing written) when the file or a
    marker is missing."""
    if not osp.exists(path):
        return False
    with open(path) as f:
        doc = f.read()
    if begin not in doc or end not in doc:
        return False
    head, rest = doc.split(begin, 1)
    with open(path, 'w') as f:
        f.write(head + begin + '\n\n' + text + '\n\n' +
                rest[rest.index(end):])
    return True


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


def data_root_options(data_root: str, loaders: List[str]) -> List[str]:
    """``--cfg-options`` that point the datasets of ``loaders`` (e.g.
    ``train_dataloader.dataset.dataset``) at ``data_root``; none where it is
    the study configs' own :data:`DATA_ROOT`."""
    if osp.normpath(data_root) == DATA_ROOT:
        return []
    return [f'{loader}.data_root={data_root}' for loader in loaders]


def pretrain_options(key: str, data_root: str = DATA_ROOT) -> List[str]:
    """The ``--cfg-options`` of run ``key``'s pre-training command."""
    name, seed = parse_key(key)
    run = RUNS[name]
    options = list(run.options)
    if run.screening:
        options.append(f'train_cfg.max_epochs={run.epochs}')
    options += data_root_options(data_root,
                                 ['train_dataloader.dataset.dataset'])
    if seed != 0:  # the study configs set randomness.seed=0
        options.append(f'randomness.seed={seed}')
    return options


def pretrain(keys: List[str], work_dir: str,
             data_root: str = DATA_ROOT) -> None:
    for key in keys:
        run = RUNS[parse_key(key)[0]]
        if osp.exists(checkpoint_path(work_dir, key, run.epochs)):
            log(f'{key}: pre-trained already')
            continue
        run_dir = osp.join(work_dir, key)
        if run.warm_start:
            warm_start(key, work_dir)
        cmd = [
            PYTHON, TRAIN_SCRIPT, config_file(run.config), '--work-dir',
            run_dir, '--resume'
        ]
        options = pretrain_options(key, data_root)
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
            curve[str(epoch)] = frozen_eval(config_file(RUNS[name].config),
                                            ckpt,
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
        config = config_file(RUNS['tscae' if name == RANDOM_INIT else
                                  name].config)
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
    """Collapse statistics (``tscae_mm.evaluation``'s ``plain_stats`` and
    ``pass_stats``) of every epoch's model on 256 test images, masks drawn
    with seed 0."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
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
        cfg = Config.fromfile(config_file(RUNS[name].config))
        spec = encoder_spec(config_file(RUNS[name].config))
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
                load_checkpoint(model, ckpt, map_location='cpu', strict=True)
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


def logged_metric(run_dir: str, metric: str) -> Optional[float]:
    """The last value of ``metric`` in a work dir's logged scalars."""
    value = None
    for record in scalar_records(run_dir):
        if metric in record:
            value = record[metric]
    return value


def finetune_result(ft_dir: str) -> Optional[float]:
    """The last ``accuracy/top1`` logged in a fine-tuning work dir."""
    return logged_metric(ft_dir, 'accuracy/top1')


def finetune_options(key: str, work_dir: str,
                     data_root: str = DATA_ROOT) -> List[str]:
    """The ``--cfg-options`` of run ``key``'s fine-tuning command: its
    encoder (none: the random init), the images (where ``data_root`` is not
    the config's) and its seed (head, data order, crops; the random init's
    weights)."""
    name, seed = parse_key(key)
    options = []
    if name != RANDOM_INIT:
        options = [
            'model.backbone.init_cfg.type=Pretrained',
            'model.backbone.init_cfg.checkpoint=' +
            checkpoint_path(work_dir, key, RUNS[name].epochs),
            'model.backbone.init_cfg.prefix=backbone.'
        ]
    options += data_root_options(data_root, [
        'train_dataloader.dataset.dataset', 'val_dataloader.dataset',
        'test_dataloader.dataset'
    ])
    if seed != 0:
        options.append(f'randomness.seed={seed}')
    return options


def finetune(keys: List[str], work_dir: str,
             data_root: str = DATA_ROOT) -> None:
    """Fine-tune each pre-trained encoder and the random init."""
    epochs = config_epochs(FINETUNE_CONFIG)
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
        options = finetune_options(key, work_dir, data_root)
        seconds = run_command([
            PYTHON, TRAIN_SCRIPT, config_file(FINETUNE_CONFIG), '--work-dir',
            ft_dir, '--resume'
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
                             config=config_label(FINETUNE_CONFIG)))


