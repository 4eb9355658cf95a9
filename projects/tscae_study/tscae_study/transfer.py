"""The transfer benchmark of docs/results.md ("Transfer"): the study's
encoders (random init, MAE, TSCAE reference, TSCAE recommended; one
pre-training per seed) fine-tuned for detection, semantic segmentation and
multi-label classification on a generated VOCdevkit, through the benchmark
configs and ``tools/train.py``, each with the seed of its encoder.

Stages (each skips what is done; an interrupted fine-tuning resumes from its
last checkpoint):

- ``data``: write the VOCdevkit (:mod:`tscae_study.mini_voc`) from the
  CIFAR-10 test images that the study's ``prepare`` stage extracted (the
  study pre-trains on CIFAR-10 train images only).
- ``finetune``: ``tools/train.py <task config> --resume`` per task, encoder
  and seed; the toolbox's own metric, as logged at the end of the run, goes
  to ``<work-dir>/results/<task>_<encoder>[-seed<s>].json``.
- ``probe``: a diagnostic beside the fine-tunings: the frozen encoders'
  pooled features of the whole 64x48 images, a multi-label logistic
  regression on VOC2007 trainval, AP per present class on VOC2007 test
  (``<work-dir>/probe/<encoder>[-seed<s>].json``); it says whether an
  encoder's features carry the image-level classes at all, apart from how
  the fine-tuning uses them.
- ``dense_probe``: the same for the dense task: the frozen encoders' patch
  tokens, one linear classifier over the tokens of VOC2012 train, mIoU at
  token resolution on VOC2012 val (``<work-dir>/dense_probe/``); whether the
  tokens carry the classes where the objects are.
- ``report``: ``docs/results/transfer.json`` and the tables and verdicts in
  docs/results.md, between the transfer markers.

Paths are relative to the current directory (the task configs', the
devkit's) or options that default to such paths: run it from the repository
root.
"""
import copy
import functools
import glob
import hashlib
import json
import os.path as osp
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tscae_mm.evaluation import fit_linear_probe
from tscae_mm.utils.config_scope import own_settings, toolbox_bases

from . import mini_voc
from .comparison import summarise, verdict
from .mini_voc import VOC_CLASSES
from .runs import PYTHON, RANDOM_INIT, RUNS, TRAIN_SCRIPT, config_file, run_key
from .stages import (
    add_wallclock,
    checkpoint_path,
    load_json,
    log,
    logged_metric,
    run_command,
    save_json,
)

STAGES = ('data', 'finetune', 'probe', 'dense_probe', 'report')
# the VOCdevkit of the task configs (their data_root, relative to the
# current directory), and how it is made
DATA_ROOT = 'data/transfer-voc/VOCdevkit'
DATA = dict(trainval=2000, test=500, image_size=(96, 72),
            object_size=(36, 56), max_objects=3, seed=0)
SEEDS = (0, 1)


class Task(NamedTuple):
    """One downstream task: its config, the metric it is judged by and how
    to read that metric from the run's logged scalars."""
    config: str
    metric: str  # the key the toolbox logs
    label: str
    scale: float = 1.  # to percent


TASKS: Dict[str, Task] = {
    'detection':
    Task('configs/benchmarks/mmdet/tscae_vit-tiny-d6-p4_faster-rcnn_fpn_'
         '1xb4-600i_transfer-voc0712.py', 'pascal_voc/mAP',
         'detection, VOC mAP at IoU 0.5 (VOC2007 test)', 100.),
    'segmentation':
    Task('configs/benchmarks/mmseg/tscae_vit-tiny-d6-p4_upernet_1xb8-800i_'
         'transfer-voc12aug.py', 'mIoU', 'segmentation, mIoU (VOC2012 val)'),
    'classification':
    Task('configs/benchmarks/mmpretrain/tscae_vit-tiny-d6-p4_ft-1xb16-6e_'
         'transfer-voc07.py', 'multi-label/mAP',
         'multi-label classification, mAP (VOC2007 test)'),
}
# encoder name -> the study run whose last checkpoint it is (None: the
# encoder's random initialisation, drawn with the run's seed)
ENCODERS: Dict[str, Optional[str]] = {
    RANDOM_INIT: None,
    'mae': 'mae',
    'tscae': 'tscae',
    'tscae_recommended': 'tscae_recommended',
}
ENCODER_LABELS = {
    RANDOM_INIT: 'random init',
    'mae': 'MAE',
    'tscae': 'TSCAE (reference)',
    'tscae_recommended': 'TSCAE (recommended)',
}
# the verdicts: (a, b)
CLAIMS = (('mae', RANDOM_INIT), ('tscae', RANDOM_INIT),
          ('tscae_recommended', RANDOM_INIT), ('tscae_recommended', 'mae'),
          ('tscae', 'mae'), ('tscae_recommended', 'tscae'))
COMMANDS = [
    'python tools/run_study.py --stages prepare --archive '
    '../shared/data/cifar10-jpg.tar.gz',
    'python tools/run_study.py --stages pretrain --runs mae tscae '
    'tscae_recommended --seeds 0 1',
    'python tools/run_transfer.py --stages data finetune probe dense_probe '
    'report --seeds 0 1',
]
BEGIN = '<!-- transfer: written by tools/run_transfer.py, do not edit -->'
END = '<!-- end of transfer -->'


# -------------------------------------------------------------------- data
def make_data(images: str, data_root: str = DATA_ROOT) -> None:
    """Write the benchmark's VOCdevkit from ``images`` (one sub-folder of
    photos per CIFAR-10 class: the study's ``data/cifar10/test``), once;
    refuse a devkit made with other settings."""
    root = Path(data_root)
    stamp = root / 'transfer_data.json'
    wanted = dict(DATA, images=osp.abspath(images))
    if stamp.exists():
        made = json.loads(stamp.read_text())
        made.pop('images', None)
        if made != json.loads(json.dumps(DATA)):
            raise RuntimeError(
                f'{root} was written with {made}, the benchmark wants '
                f'{DATA}: delete {root} and rerun the data stage.')
        log(f'{root}: written already')
        return
    if root.exists():
        raise RuntimeError(
            f'{root} exists but has no transfer_data.json (an interrupted '
            'or foreign devkit): delete it and rerun the data stage.')
    if not osp.isdir(images):
        raise FileNotFoundError(
            f'{images}: no such folder. Pass --images, a folder with one '
            'sub-folder of photos per CIFAR-10 class (the study\'s '
            'data/cifar10/test: python tools/run_study.py --stages prepare '
            '--archive ../shared/data/cifar10-jpg.tar.gz).')
    total = 2 * DATA['trainval'] + DATA['test']
    pool = mini_voc.read_image_folder(
        Path(images), per_class=min(total * DATA['max_objects'], 1000))
    tmp = root.with_name(root.name + '.tmp')
    mini_voc.write_devkit(tmp, pool, DATA['trainval'], DATA['test'],
                          DATA['image_size'], DATA['object_size'],
                          DATA['max_objects'], DATA['seed'])
    tmp.rename(root)
    stamp.write_text(json.dumps(wanted, indent=1))
    log(f'{root}: written ({DATA})')


# ---------------------------------------------------------------- finetune
def run_name(task: str, encoder: str, seed: int) -> str:
    """``<task>_<encoder>`` for seed 0, ``<task>_<encoder>-seed<s>``."""
    return f'{task}_{run_key(encoder, seed)}'


def encoder_checkpoint(encoder: str, seed: int,
                       study_work_dir: str) -> Optional[str]:
    """The study checkpoint of ``encoder`` with ``seed`` (None: random
    init)."""
    study_run = ENCODERS[encoder]
    if study_run is None:
        return None
    return checkpoint_path(study_work_dir, run_key(study_run, seed),
                           RUNS[study_run].epochs)


def finetune_options(encoder: str, seed: int,
                     study_work_dir: str) -> List[str]:
    """``--cfg-options`` of one fine-tuning: the encoder (the configs read
    a checkpoint written by tools/train.py, prefix ``backbone.``; the random
    init has no init_cfg) and the seed (initialisation of the new layers,
    data order, augmentation; the random init's encoder weights)."""
    checkpoint = encoder_checkpoint(encoder, seed, study_work_dir)
    options = ['model.backbone.init_cfg=None'] if checkpoint is None else [
        f'model.backbone.init_cfg.checkpoint={checkpoint}'
    ]
    return options + [f'randomness.seed={seed}']


def options_dict(options: Sequence[str]) -> dict:
    """``key=value`` options as tools/train.py's ``--cfg-options`` reads
    the ones :func:`finetune_options` writes (``None``, integers,
    strings)."""
    parsed = {}
    for option in options:
        key, value = option.split('=', 1)
        parsed[key] = (None if value == 'None' else
                       int(value) if value.isdigit() else value)
    return parsed


def finetune(tasks: Sequence[str], encoders: Sequence[str],
             seeds: Sequence[int], work_dir: str,
             study_work_dir: str) -> None:
    """Fine-tune every (task, encoder, seed) that has no result yet."""
    if not Path(DATA_ROOT, 'transfer_data.json').exists():
        raise FileNotFoundError(
            f'{DATA_ROOT} is not written yet: run the data stage first '
            '(--stages data).')
    for seed in seeds:
        for task in tasks:
            for encoder in encoders:
                finetune_one(task, encoder, seed, work_dir, study_work_dir)


def finetune_one(task: str, encoder: str, seed: int, work_dir: str,
                 study_work_dir: str) -> Optional[dict]:
    name = run_name(task, encoder, seed)
    path = osp.join(work_dir, 'results', f'{name}.json')
    if osp.exists(path):
        return load_json(path)
    checkpoint = encoder_checkpoint(encoder, seed, study_work_dir)
    if checkpoint is not None and not osp.exists(checkpoint):
        log(f'{name}: {checkpoint} is not there (tools/run_study.py '
            f'--stages pretrain --runs {ENCODERS[encoder]} --seeds {seed}); '
            'not fine-tuned')
        return None
    spec = TASKS[task]
    run_dir = osp.join(work_dir, task, run_key(encoder, seed))
    seconds = run_command(
        [PYTHON, TRAIN_SCRIPT, spec.config, '--work-dir', run_dir,
         '--resume', '--cfg-options'] +
        finetune_options(encoder, seed, study_work_dir),
        osp.join(run_dir, 'transfer_train.log'))
    add_wallclock(osp.join(run_dir, 'transfer_wallclock.json'), seconds)
    value = logged_metric(run_dir, spec.metric)
    if value is None:
        raise RuntimeError(f'{run_dir}: the run logged no {spec.metric}; '
                           'see transfer_train.log.')
    result = dict(
        task=task, encoder=encoder, seed=seed, config=spec.config,
        config_digest=run_config_digest(run_dir, task),
        checkpoint=checkpoint, metric=spec.metric,
        value=round(value * spec.scale, 2),
        seconds=load_json(osp.join(run_dir,
                                   'transfer_wallclock.json'))['seconds'])
    save_json(path, result)
    log(f'{name}: {spec.metric} {result["value"]:.2f}')
    return result


def config_digest(cfg: dict, toolbox: Optional[dict] = None) -> str:
    """A fingerprint of a fine-tuning's resolved config (sha256, 16 hex
    digits), less what names the machine or the invocation: ``work_dir``,
    ``launcher``, ``resume`` and the encoder checkpoint's path. With
    ``toolbox`` (what the task config's toolbox bases set,
    :func:`task_toolbox`) only what differs from it counts, so that a
    toolbox release that changes one of its own defaults leaves the
    fingerprints of committed results as they are."""
    if toolbox is not None:
        cfg = own_settings(cfg, toolbox)
    cfg = copy.deepcopy(cfg)
    for key in ('work_dir', 'launcher', 'resume'):
        cfg.pop(key, None)
    init_cfg = cfg.get('model', {}).get('backbone', {}).get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('checkpoint'):
        init_cfg['checkpoint'] = '<encoder checkpoint>'
    text = json.dumps(cfg, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_config_digest(run_dir: str, task: str) -> str:
    """:func:`config_digest` of the config tools/train.py dumped in a run's
    work dir (what the run trained with) of ``task``."""
    from mmengine.config import Config
    dumped = glob.glob(osp.join(run_dir, '*.py'))
    if len(dumped) != 1:
        raise RuntimeError(f'{run_dir}: expected the one config that '
                           f'tools/train.py dumps there, found {dumped}')
    return config_digest(Config.fromfile(dumped[0]).to_dict(),
                         task_toolbox(task))


@functools.lru_cache(maxsize=None)
def task_config(task: str):
    """The task's config as it is now (parsed once)."""
    from mmengine.config import Config
    return Config.fromfile(TASKS[task].config)


@functools.lru_cache(maxsize=None)
def task_toolbox(task: str) -> dict:
    """What the task config's toolbox bases (``mmdet::...``) set."""
    return toolbox_bases(TASKS[task].config)


def expected_config_digest(task: str, encoder: str, seed: int) -> str:
    """:func:`config_digest` of what :func:`finetune_one` would run now:
    the task's config as it is now, with the run's options."""
    cfg = copy.deepcopy(task_config(task))
    cfg.merge_from_dict(
        options_dict(finetune_options(encoder, seed, '<study work dir>')))
    return config_digest(cfg.to_dict(), task_toolbox(task))


def check_config_digests(results: Sequence[dict]) -> None:
    """Refuse results of a config that has changed since they ran (or that
    carry no fingerprint): a table must not mix set-ups."""
    expected = {}
    stale = []
    for result in results:
        key = (result['task'], result['encoder'], result['seed'])
        if key not in expected:
            expected[key] = expected_config_digest(*key)
        if result.get('config_digest') != expected[key]:
            stale.append(f'{run_name(*key)} '
                         f'({result.get("config_digest", "no digest")})')
    if stale:
        raise RuntimeError(
            'these fine-tuning results were not run with the current '
            f'configs (fingerprint now vs then): {", ".join(stale)}. Move '
            'their JSON files out of docs/results/transfer/ and '
            '<work-dir>/results/ (and their work dirs, or the run resumes '
            'the old one) and run --stages finetune again.')


# ------------------------------------------------------------------- probe
PROBE_SCALE = (64, 48)  # (width, height), as the task configs read them


def voc_labels(year_dir: Path, split: str) -> tuple:
    """Image ids of a VOC split and their (N, 20) 0 / 1 class matrix, from
    ImageSets/Main/<class>_<split>.txt."""
    ids = (year_dir / 'ImageSets' / 'Main' / f'{split}.txt').read_text(
    ).split()
    index = {image_id: i for i, image_id in enumerate(ids)}
    labels = np.zeros((len(ids), len(VOC_CLASSES)), dtype=np.float32)
    for c, name in enumerate(VOC_CLASSES):
        lines = (year_dir / 'ImageSets' / 'Main' /
                 f'{name}_{split}.txt').read_text().splitlines()
        for line in lines:
            image_id, flag = line.split()
            labels[index[image_id], c] = float(flag == '1')
    return ids, labels


def average_precision(scores, labels) -> float:
    """AP of one class: the mean of the precisions at each positive, the
    images ranked by score (no interpolation)."""
    order = np.argsort(-scores, kind='stable')
    hits = labels[order] > 0
    if not hits.any():
        raise ValueError('average_precision needs at least one positive')
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def encoded_batches(encoder, spec, paths: Sequence[str], batch: int = 250):
    """The frozen encoder's output for whole images read at
    :data:`PROBE_SCALE` (RGB, normalised as in pre-training), ``batch``
    images at a time."""
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    with torch.no_grad():
        for start in range(0, len(paths), batch):
            images = np.stack([
                cv2.resize(cv2.imread(str(p)), PROBE_SCALE,
                           interpolation=cv2.INTER_CUBIC)[..., ::-1]
                for p in paths[start:start + batch]
            ])
            x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
            out = encoder((x - mean) / std)
            yield (out[0] if isinstance(out, tuple) else out).float()


def probe_features(encoder, spec, paths) -> torch.Tensor:
    """Pooled features of whole images read at :data:`PROBE_SCALE`."""
    return torch.cat(list(encoded_batches(encoder, spec, paths)))


def multilabel_probe(train_x, train_y, test_x, test_y,
                     weight_decay: float = 1e-4) -> dict:
    """Independent logistic regressions (one per class) on standardised
    features, full-batch L-BFGS (the study's linear probe's fit,
    ``fit_linear_probe``); AP per class present in the test set and their
    mean (%)."""
    linear, standardise = fit_linear_probe(
        train_x, torch.from_numpy(train_y).double(), train_y.shape[1],
        F.binary_cross_entropy_with_logits, weight_decay)
    with torch.no_grad():
        scores = linear(standardise(test_x)).numpy()
    present = [c for c in range(test_y.shape[1]) if test_y[:, c].any()]
    aps = {c: 100. * average_precision(scores[:, c], test_y[:, c])
           for c in present}
    chance = 100. * float(np.mean([test_y[:, c].mean() for c in present]))
    return dict(map=float(np.mean(list(aps.values()))), chance_map=chance,
                ap={str(c): round(v, 2) for c, v in aps.items()})


def pending_encoders(encoders: Sequence[str], seeds: Sequence[int],
                     out_dir: str, study_work_dir: str, label: str):
    """For a probe stage: ``(result path, encoder name, seed, checkpoint,
    frozen encoder, spec)`` of each encoder and seed without a result in
    ``out_dir`` whose checkpoint is there (the random init drawn with the
    seed)."""
    from tscae_mm.evaluation import build_encoder, encoder_spec
    spec = encoder_spec(config_file(RUNS['mae'].config))
    for seed in seeds:
        for encoder_name in encoders:
            name = run_key(encoder_name, seed)
            path = osp.join(out_dir, f'{name}.json')
            if osp.exists(path):
                continue
            checkpoint = encoder_checkpoint(encoder_name, seed,
                                            study_work_dir)
            if checkpoint is not None and not osp.exists(checkpoint):
                log(f'{label} {name}: {checkpoint} is not there; skipped')
                continue
            torch.manual_seed(seed)
            yield (path, encoder_name, seed, checkpoint,
                   build_encoder(spec, checkpoint), spec)


def voc_year(devkit: str, year: str, split_file: str) -> Path:
    """``<devkit>/VOC<year>``, refused with the command that writes it when
    ``split_file`` (under ImageSets) is not there."""
    year_dir = Path(devkit, f'VOC{year}')
    if not (year_dir / 'ImageSets' / split_file).exists():
        raise FileNotFoundError(
            f'{year_dir} is not written yet: run the data stage first '
            '(tools/run_transfer.py --stages data).')
    return year_dir


def probe_scores(encoder, spec, devkit: str = DATA_ROOT) -> dict:
    """The frozen multi-label probe of one encoder (module docstring) on
    the devkit's VOC2007: ``map``, ``chance_map`` and ``ap`` per class."""
    year_dir = voc_year(devkit, '2007', 'Main/test.txt')
    images = year_dir / 'JPEGImages'
    train_ids, train_y = voc_labels(year_dir, 'trainval')
    test_ids, test_y = voc_labels(year_dir, 'test')
    xtr = probe_features(encoder, spec,
                         [str(images / f'{i}.jpg') for i in train_ids])
    xte = probe_features(encoder, spec,
                         [str(images / f'{i}.jpg') for i in test_ids])
    return multilabel_probe(xtr, train_y, xte, test_y)


def probe(encoders: Sequence[str], seeds: Sequence[int], work_dir: str,
          study_work_dir: str) -> None:
    """The frozen multi-label probe of every encoder and seed (module
    docstring); skips what is done."""
    voc_year(DATA_ROOT, '2007', 'Main/test.txt')
    for path, encoder_name, seed, checkpoint, encoder, spec in \
            pending_encoders(encoders, seeds, osp.join(work_dir, 'probe'),
                             study_work_dir, 'probe'):
        result = dict(encoder=encoder_name, seed=seed, checkpoint=checkpoint,
                      **probe_scores(encoder, spec))
        save_json(path, result)
        log(f'probe {run_key(encoder_name, seed)}: mAP over the present '
            f'classes {result["map"]:.2f} (chance '
            f'{result["chance_map"]:.2f})')


# ------------------------------------------------------------ dense probe
# training tokens the dense probe fits on (drawn with a fixed generator from
# the VOC2012 train images' labelled tokens): bounds the L-BFGS fit
DENSE_TRAIN_TOKENS = 40000
NUM_SEG_CLASSES = 21  # VOC: background + 20


def token_labels(label_map: np.ndarray, patch: int) -> np.ndarray:
    """Per ``patch`` x ``patch`` cell of a VOC label map (0-20, 255 for
    borders / ignore), its most frequent class; -1 where every pixel is
    ignored."""
    h, w = label_map.shape
    cells = label_map.reshape(h // patch, patch, w // patch, patch)
    cells = cells.transpose(0, 2, 1, 3).reshape(h // patch, w // patch, -1)
    counts = (cells[..., None] == np.arange(NUM_SEG_CLASSES)).sum(2)
    return np.where(counts.sum(-1) > 0, counts.argmax(-1), -1)


def dense_tokens(encoder, spec, year_dir: Path, split: str):
    """The frozen encoder's patch tokens of a VOC2012 segmentation split's
    images read at :data:`PROBE_SCALE` (N, C) and the token labels (N,),
    labelled tokens only."""
    ids = (year_dir / 'ImageSets' / 'Segmentation' /
           f'{split}.txt').read_text().split()
    out_type = encoder.out_type
    encoder.out_type = 'featmap'
    try:
        feats = [
            out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
            for out in encoded_batches(encoder, spec, [
                year_dir / 'JPEGImages' / f'{i}.jpg' for i in ids
            ])
        ]
    finally:
        encoder.out_type = out_type
    labels = []
    for i in ids:
        label_map = np.asarray(
            Image.open(year_dir / 'SegmentationClass' / f'{i}.png'))
        label_map = cv2.resize(label_map, PROBE_SCALE,
                               interpolation=cv2.INTER_NEAREST)
        labels.append(token_labels(label_map, spec.patch_size).ravel())
    feats, labels = torch.cat(feats), np.concatenate(labels)
    if len(feats) != len(labels):
        raise RuntimeError(
            f'{len(feats)} tokens but {len(labels)} token labels: the '
            f'images at {PROBE_SCALE} do not tile into '
            f'{spec.patch_size}-px patches')
    keep = labels >= 0
    return feats[torch.from_numpy(keep)], labels[keep]


def segmentation_scores(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """IoU per class present in ``truth``, their mean and the accuracy (%),
    as mmseg computes them, at token resolution."""
    present = np.unique(truth)
    ious = {}
    for c in present:
        inter = np.sum((predicted == c) & (truth == c))
        union = np.sum((predicted == c) | (truth == c))
        ious[int(c)] = 100. * inter / union
    return dict(miou=float(np.mean(list(ious.values()))),
                aacc=100. * float(np.mean(predicted == truth)),
                iou={str(c): round(v, 2) for c, v in ious.items()})


def dense_linear_probe(train_x, train_y, test_x, test_y,
                       weight_decay: float = 1e-4) -> dict:
    """One linear softmax classifier over the tokens (fit_linear_probe on
    :data:`DENSE_TRAIN_TOKENS` training tokens), scored on every labelled
    test token; ``chance_miou``: the score of calling every token
    background."""
    rng = np.random.default_rng(0)
    if len(train_y) > DENSE_TRAIN_TOKENS:
        pick = np.sort(rng.choice(len(train_y), DENSE_TRAIN_TOKENS,
                                  replace=False))
        train_x, train_y = train_x[torch.from_numpy(pick)], train_y[pick]
    linear, standardise = fit_linear_probe(
        train_x, torch.from_numpy(train_y).long(), NUM_SEG_CLASSES,
        F.cross_entropy, weight_decay, max_iter=200)
    with torch.no_grad():
        predicted = linear(standardise(test_x)).argmax(1).numpy()
    scores = segmentation_scores(predicted, test_y)
    scores['chance_miou'] = segmentation_scores(
        np.zeros_like(test_y), test_y)['miou']
    return scores


def dense_probe_scores(encoder, spec, devkit: str = DATA_ROOT) -> dict:
    """The frozen dense probe of one encoder (:func:`dense_probe`) on the
    devkit's VOC2012: ``miou``, ``aacc``, ``iou`` per class and
    ``chance_miou``."""
    year_dir = voc_year(devkit, '2012', 'Segmentation/val.txt')
    train_x, train_y = dense_tokens(encoder, spec, year_dir, 'train')
    test_x, test_y = dense_tokens(encoder, spec, year_dir, 'val')
    return dense_linear_probe(train_x, train_y, test_x, test_y)


def dense_probe(encoders: Sequence[str], seeds: Sequence[int],
                work_dir: str, study_work_dir: str) -> None:
    """The frozen encoders' patch tokens, a linear classifier per token on
    VOC2012 train, mIoU at token resolution on VOC2012 val
    (``<work_dir>/dense_probe/<encoder>[-seed<s>].json``): whether the
    tokens carry the classes where the objects are, apart from what the
    segmentation fine-tuning makes of them. Skips what is done."""
    voc_year(DATA_ROOT, '2012', 'Segmentation/val.txt')
    for path, encoder_name, seed, checkpoint, encoder, spec in \
            pending_encoders(encoders, seeds,
                             osp.join(work_dir, 'dense_probe'),
                             study_work_dir, 'dense probe'):
        result = dict(encoder=encoder_name, seed=seed, checkpoint=checkpoint,
                      **dense_probe_scores(encoder, spec))
        save_json(path, result)
        log(f'dense probe {run_key(encoder_name, seed)}: token mIoU '
            f'{result["miou"]:.2f} (all background: '
            f'{result["chance_miou"]:.2f})')


# ------------------------------------------------------------------ report
def encoder_entry(encoder: str, runs: Sequence[dict],
                  values: Sequence[float]) -> dict:
    """One encoder's summary over its runs (sorted by seed): ``label``,
    ``seeds``, ``values``, ``mean``, ``spread`` (max - min), ``min``,
    ``max``."""
    summary = summarise(list(values))
    return dict(label=ENCODER_LABELS[encoder],
                seeds=[r['seed'] for r in runs], values=list(values),
                mean=round(summary['mean'], 2),
                spread=round(summary['spread'], 2), min=summary['min'],
                max=summary['max'])


def runs_of(results: Sequence[dict], encoder: str, **match) -> List[dict]:
    """The results of ``encoder`` (and ``match``'s other fields), by
    seed."""
    return sorted((r for r in results if r['encoder'] == encoder and all(
        r[k] == v for k, v in match.items())), key=lambda r: r['seed'])


def collect(results: Sequence[dict]) -> dict:
    """transfer.json's ``tasks``: per task its metric and, per encoder with
    results, :func:`encoder_entry` and ``minutes`` (mean wall-clock per
    run)."""
    tasks = {}
    for task, spec in TASKS.items():
        encoders = {}
        for encoder in ENCODERS:
            runs = runs_of(results, encoder, task=task)
            if runs:
                encoders[encoder] = dict(
                    encoder_entry(encoder, runs, [r['value'] for r in runs]),
                    minutes=round(
                        sum(r['seconds'] for r in runs) / len(runs) / 60,
                        1))
        tasks[task] = dict(metric=spec.metric, label=spec.label,
                           unit='percent', config=spec.config,
                           encoders=encoders)
    return tasks


def verdicts(tasks: dict) -> List[str]:
    """Per task and claim: which encoder is higher and whether by more
    than the seeds' spread (:func:`.comparison.verdict`)."""
    lines = []
    for task, entry in tasks.items():
        records = {
            name: dict(label=e['label'], value_mean=e['mean'],
                       value_min=e['min'], value_max=e['max'],
                       value_n=len(e['values']))
            for name, e in entry['encoders'].items()
        }
        for a, b in CLAIMS:
            if a in records and b in records:
                lines.append(verdict(
                    records[a], records[b], 'value',
                    f'{task}: {ENCODER_LABELS[a]} vs {ENCODER_LABELS[b]}'))
    return lines


def seed_cell(entry: dict) -> str:
    """``mean (min-max, n seeds)``, or ``mean (1 seed)``."""
    n = len(entry['values'])
    if n == 1:
        return f"{entry['mean']:.2f} (1 seed)"
    return (f"{entry['mean']:.2f} ({entry['min']:.2f}-{entry['max']:.2f}, "
            f'{n} seeds)')


def table(tasks: dict) -> str:
    """Markdown: one row per encoder, one column per task: mean (min-max,
    n seeds); then the minutes per run."""
    names = list(tasks)
    head = ('| encoder | ' + ' | '.join(tasks[t]['label'] for t in names) +
            ' | minutes per run (' + ' / '.join(names) + ') |')
    rows = [head, '| --- |' + ' ---: |' * (len(names) + 1)]
    for encoder in ENCODERS:
        cells, minutes = [], []
        for task in names:
            e = tasks[task]['encoders'].get(encoder)
            if e is None:
                cells.append('-')
                minutes.append('-')
                continue
            cells.append(seed_cell(e))
            minutes.append(f"{e['minutes']:.1f}")
        rows.append(f'| {ENCODER_LABELS[encoder]} | ' + ' | '.join(cells) +
                    ' | ' + ' / '.join(minutes) + ' |')
    return '\n'.join(rows) + '\n'


class Probe(NamedTuple):
    """A frozen-encoder diagnostic: where its results are and what they
    hold."""
    stage_dir: str  # under the work dir
    committed_dir: str  # under docs/results
    key: str
    chance_key: str
    label: str  # its verdicts'
    column: str  # its table's heading
    chance_label: str
    metric: str  # transfer.json's
    description: str


PROBES = {
    'probe':
    Probe('probe', 'transfer_probe', 'map', 'chance_map', 'frozen probe',
          'frozen probe mAP, present classes (VOC2007 test)', 'chance',
          'mAP over the classes present in VOC2007 test (%)',
          'frozen encoders, pooled features of the whole 64x48 images, one '
          'logistic regression per class on VOC2007 trainval (the probe '
          'stage)'),
    'dense_probe':
    Probe('dense_probe', 'transfer_dense_probe', 'miou', 'chance_miou',
          'frozen dense probe',
          'frozen dense probe, token mIoU (VOC2012 val)', 'all background',
          'mIoU over the classes present in VOC2012 val, at token '
          'resolution (%)',
          'frozen encoders, patch tokens of the whole 64x48 images, one '
          'linear softmax classifier over the tokens of VOC2012 train '
          f'({DENSE_TRAIN_TOKENS} drawn), each token labelled with the most '
          'frequent class of its pixels (the dense_probe stage)'),
}


def committed_probes(work_dir: str, out: str, kind: str = 'probe') -> dict:
    """A probe stage's results (``<work_dir>/<stage>`` over the committed
    ``<out>/<committed dir>``; :func:`merge_committed`), per encoder:
    :func:`encoder_entry` of its score, and the chance score."""
    spec = PROBES[kind]
    results = merge_committed(osp.join(work_dir, spec.stage_dir),
                              osp.join(out, spec.committed_dir))
    encoders = {}
    for encoder in ENCODERS:
        runs = runs_of(results, encoder)
        if runs:
            encoders[encoder] = dict(
                encoder_entry(encoder, runs,
                              [round(r[spec.key], 2) for r in runs]),
                chance=round(runs[0][spec.chance_key], 2))
    return encoders


def probe_table(encoders: dict, kind: str = 'probe') -> str:
    """Markdown: a probe's score per encoder."""
    spec = PROBES[kind]
    rows = [f'| encoder | {spec.column} | {spec.chance_label} |',
            '| --- | ---: | ---: |']
    for e in encoders.values():
        rows.append(f"| {e['label']} | {seed_cell(e)} | {e['chance']:.2f} |")
    return '\n'.join(rows) + '\n'


def merge_committed(fresh: str, committed: str) -> List[dict]:
    """The JSON results of folder ``fresh`` (this machine's runs) and of
    ``committed`` (earlier runs, perhaps on another machine), ``fresh``
    winning by file name; all are written to ``committed``, so the figures
    survive the work dir. Sorted by name."""
    by_name = {}
    for folder in (committed, fresh):
        if osp.isdir(folder):
            for path in sorted(Path(folder).glob('*.json')):
                by_name[path.stem] = load_json(str(path))
    for name, result in by_name.items():
        save_json(osp.join(committed, f'{name}.json'), result)
    return [by_name[name] for name in sorted(by_name)]


def committed_results(work_dir: str, out: str) -> List[dict]:
    """Every fine-tuning's result: ``<work_dir>/results`` merged with the
    committed ``<out>/transfer`` (:func:`merge_committed`)."""
    return merge_committed(osp.join(work_dir, 'results'),
                           osp.join(out, 'transfer'))


def report(work_dir: str, out: str) -> dict:
    """``<out>/transfer.json`` (from :func:`committed_results`) and the
    section of docs/results.md (the file beside ``out``) between
    :data:`BEGIN` and :data:`END`."""
    results = committed_results(work_dir, out)
    check_config_digests(results)
    tasks = collect(results)
    lines = verdicts(tasks)
    probes = {kind: committed_probes(work_dir, out, kind) for kind in PROBES}
    for kind, encoders in probes.items():
        if encoders:
            lines += verdicts({PROBES[kind].label: dict(encoders=encoders)})
    data = dict(
        description='The study encoders fine-tuned on the transfer '
        'VOCdevkit (docs/results.md, "Transfer"); values in percent, '
        'spread = max - min over the seeds.',
        data=dict(DATA, root=DATA_ROOT),
        tasks=tasks,
        **{
            kind: dict(metric=PROBES[kind].metric,
                       description=PROBES[kind].description,
                       encoders=encoders)
            for kind, encoders in probes.items()
        },
        verdicts=lines, commands=COMMANDS)
    save_json(osp.join(out, 'transfer.json'), data)
    section = table(tasks) + '\n'
    for kind, encoders in probes.items():
        if encoders:
            section += probe_table(encoders, kind) + '\n'
    section += '\n'.join(f'- {line}' for line in lines) + '\n'
    results_md = osp.join(osp.dirname(osp.abspath(out)), 'results.md')
    if osp.exists(results_md):
        text = Path(results_md).read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            Path(results_md).write_text(head + BEGIN + '\n' + section +
                                        rest[rest.index(END):])
    log(f'{osp.join(out, "transfer.json")}: {len(results)} runs')
    return data


def main(argv: Optional[List[str]] = None) -> None:
    """``tools/run_transfer.py``."""
    import argparse
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        default=list(STAGES))
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS),
                        default=list(TASKS))
    parser.add_argument('--encoders', nargs='+', choices=list(ENCODERS),
                        default=list(ENCODERS))
    parser.add_argument('--seeds', nargs='+', type=int, default=list(SEEDS),
                        help='seed s fine-tunes the encoder pre-trained '
                        'with seed s (default: %(default)s)')
    parser.add_argument(
        '--images', default=osp.join('data', 'cifar10', 'test'),
        help='photos of the VOCdevkit, one sub-folder per CIFAR-10 class '
        '(default: %(default)s, the study\'s extracted CIFAR-10 test '
        'split); the devkit is written to ' + DATA_ROOT + ', where the task '
        'configs read it')
    parser.add_argument(
        '--study-work-dir', default=osp.join('work_dirs', 'study'),
        help="the study's work dir (the encoders' checkpoints; default: "
        '%(default)s)')
    parser.add_argument(
        '--work-dir', default=osp.join('work_dirs', 'transfer'),
        help='the fine-tunings\' and probes\' work dirs (default: '
        '%(default)s)')
    parser.add_argument(
        '--out', default=osp.join('docs', 'results'),
        help='transfer.json and the committed results (default: '
        '%(default)s; the tables go to results.md beside it)')
    args = parser.parse_args(argv)
    for seed in args.seeds:
        run_key(RANDOM_INIT, seed)  # refuses a negative seed
    if 'data' in args.stages:
        make_data(args.images)
    if 'finetune' in args.stages:
        finetune(args.tasks, args.encoders, args.seeds, args.work_dir,
                 args.study_work_dir)
    if 'probe' in args.stages:
        probe(args.encoders, args.seeds, args.work_dir, args.study_work_dir)
    if 'dense_probe' in args.stages:
        dense_probe(args.encoders, args.seeds, args.work_dir,
                    args.study_work_dir)
    if 'report' in args.stages:
        report(args.work_dir, args.out)


__all__ = [
    'BEGIN', 'CLAIMS', 'COMMANDS', 'DATA', 'DATA_ROOT', 'END', 'ENCODERS',
    'TASKS', 'Task', 'collect', 'committed_probes', 'committed_results',
    'encoder_checkpoint', 'encoder_entry', 'merge_committed', 'probe_table',
    'runs_of', 'seed_cell',
    'finetune', 'finetune_one', 'finetune_options', 'logged_metric', 'main',
    'make_data', 'multilabel_probe', 'average_precision', 'probe',
    'probe_scores', 'dense_probe', 'dense_probe_scores',
    'report', 'run_name', 'table', 'verdicts'
]
