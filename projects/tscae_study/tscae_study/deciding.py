"""The deciding tier (issue 24): TSCAE vs MAE pre-trained on all 50,000
CIFAR-10 training images, at equal same-condition wall-clock budgets, with
learning curves.

Budgets are minutes of one training alone on the machine's 2 cores,
converted into iterations from MAE's median seconds per step in the first
side-by-side benchmark (:mod:`tscae_study.speed.side_by_side`, 2 threads)
times each method's cost ratio to MAE, measured beside MAE in one run
(``--cost-file``, the screening's files), so that runs may share the machine
afterwards.
Each budget is a complete schedule (a sixth linear warm-up, then cosine to
0), written as a config that inherits the method's study config with the
50,000-image list (``budget_config``), saving ``CURVE_POINTS`` evenly spaced
checkpoints.

Stages (each skips what is done; a rerun resumes an interrupted training):

- ``prepare``: the image lists ``meta/pretrain_50k.txt`` (unlabelled),
  ``meta/train_50k.txt`` (labelled) and ``meta/train_10k.txt`` (1,000
  labelled images per class, seeded: the fine-tuning set) beside the
  study's lists;
- ``pretrain``: every method x budget x seed;
- ``curve``: k-NN top-1 (bank train_5k, queries test_1k: the study's
  cheaper split) of every saved checkpoint, against same-condition minutes;
- ``evaluate``: the last checkpoint's k-NN (bank: the 50,000 training
  images) and linear probe (trained on them) on the 10,000 test images;
- ``finetune``: the last checkpoint fine-tuned end to end
  (``FINETUNE_CONFIG``: 20 epochs on train_10k, top-1 on the 10,000 test
  images every 2 epochs), and the random init (``random_init``) the same
  way, once per seed;
- ``probe``: the transfer runner's frozen probe (VOC2007 multi-label mAP)
  and dense probe (VOC2012 token mIoU) of the last checkpoint
  (:func:`tscae_study.transfer.probe_scores`,
  :func:`~tscae_study.transfer.dense_probe_scores`), and of the random init
  once per seed;
- ``report``: ``study.json['deciding']``, the learning-curve plot, the
  tables and the verdicts between markers in docs/results.md.

``--images noise`` runs the same methods on degraded pre-training images
(the seeded study's degradation, ``runs.DEGRADATION``: Gaussian noise of
std 48 grey levels on every image), evaluated on clean images like every
run: the image-quality claim at this tier.

Runs must finish within one working session (a later one may start on a
fresh machine without the work dir); the budgets are sized for that.
"""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List, NamedTuple, Optional

from .comparison import compare, drop_table, drop_verdict, summarise, verdict
from .efficiency import (
    COST_FILES,
    load_costs,
    train_budget_run,
)
from .runs import (
    CLASSES,
    CONFIG_ROOT,
    DEGRADATION,
    DEGRADATIONS,
    PYTHON,
    SEED,
    TRAIN_SCRIPT,
    run_key,
)
from .stages import (
    add_wallclock,
    data_root_options,
    frozen_eval,
    load_json,
    log,
    run_command,
    save_json,
    scalar_records,
    write_between_markers,
)

STAGES = ('prepare', 'pretrain', 'curve', 'evaluate', 'finetune', 'probe',
          'report')
BUDGETS_MINUTES = (20, 60)
CURVE_POINTS = 10
IMAGES = 50000
# the pre-training images: as they are, or each one degraded (evaluation is
# on clean images either way)
IMAGES_KINDS = ('clean', 'noise')
NOISE = DEGRADATIONS[DEGRADATION]  # (kind, severity, description)


class Method(NamedTuple):
    config: str  # relative to the study's configs folder
    label: str


METHODS: Dict[str, Method] = {
    'mae':
    Method('mae_vit-tiny-d6-p4_6e_cifar10-5k.py', 'MAE'),
    'tscae_recommended':
    Method('tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py',
           'TSCAE recommended'),
    'tscae_efficient':
    Method('screening_efficiency/tscae_vit-tiny-d6-p4-token-drop_6e_'
           'cifar10-5k_sibling-views-4_vicreg_infonce-image.py',
           'TSCAE efficient'),
    'tscae_vicreg':
    Method('screening_efficiency/tscae_vit-tiny-d6-p4-token-drop_6e_'
           'cifar10-5k_sibling-views-4_vicreg.py',
           'TSCAE sibling views + variance / covariance'),
}
# the candidate of the screening (tscae_study.efficiency) each method is
COST_NAMES = {
    'tscae_efficient': 'sibling_views_4_vicreg_infonce_image',
    'tscae_vicreg': 'sibling_views_4_vicreg',
}
RANDOM_INIT = 'random_init'
FINETUNE_CONFIG = 'vit-tiny-d6-p4_ft-20e_cifar10-10k.py'
FINETUNE_PER_CLASS = 1000
# named before the deciding runs: the screening's choice is the TSCAE the
# goal is judged on (tscae_study.efficiency, study.json efficiency.chosen)
GOAL_METHOD = 'tscae_efficient'
# what the report summarises: (record key, its name in tables and verdicts)
METRICS = (('knn_top1', 'k-NN'), ('linear_top1', 'linear probe'),
           ('finetune_top1', 'fine-tune'),
           ('probe_map', 'frozen VOC probe mAP'),
           ('dense_probe_miou', 'dense VOC probe mIoU'))


def prepare(data_root: str) -> None:
    """Write the 50,000-image lists (every training image, class folder
    order, sorted names)."""
    import numpy as np
    rng = np.random.default_rng(SEED)
    unlabelled, labelled, finetune_set = [], [], []
    for label, cls in enumerate(CLASSES):
        folder = osp.join(data_root, 'train', cls)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{folder} not found: run the study\'s prepare stage first '
                '(tools/run_study.py --stages prepare --archive ...).')
        names = sorted(os.listdir(folder))
        for name in names:
            unlabelled.append(f'train/{cls}/{name}')
            labelled.append(f'train/{cls}/{name} {label}')
        chosen = rng.choice(len(names), min(FINETUNE_PER_CLASS, len(names)),
                            replace=False)
        finetune_set += [f'train/{cls}/{names[i]} {label}'
                         for i in sorted(chosen)]
    os.makedirs(osp.join(data_root, 'meta'), exist_ok=True)
    for file, lines in (('pretrain_50k.txt', unlabelled),
                        ('train_50k.txt', labelled),
                        ('train_10k.txt', finetune_set)):
        with open(osp.join(data_root, 'meta', file), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    log(f'{len(unlabelled)} training images listed in {data_root}/meta')


def check_lists(data_root: str) -> None:
    """Refuse a data root without the lists the stages read, naming the
    stages that write them."""
    missing = [f for f in ('pretrain_50k.txt', 'train_50k.txt',
                           'train_10k.txt', 'train_5k.txt', 'test_1k.txt',
                           'test.txt')
               if not osp.exists(osp.join(data_root, 'meta', f))]
    if missing:
        raise FileNotFoundError(
            f"{data_root}/meta lacks {', '.join(missing)}: pass --data-root "
            'the extracted CIFAR-10 folder and run the prepare stages first '
            '(python tools/run_study.py --stages prepare --data-root ROOT; '
            'python tools/run_deciding.py --stages prepare --data-root '
            'ROOT).')


def seconds_per_step(cost_files=COST_FILES) -> Dict[str, float]:
    """Each method's same-condition seconds per step: MAE's median step in
    the first cost file times the method's cost ratio to MAE (measured
    beside MAE in one run, :func:`tscae_study.efficiency.load_costs`)."""
    costs = load_costs(cost_files)
    mae = costs['mae']['median_s']
    return {method: mae * costs[cost_name(method)]['cost_ratio']
            for method in METHODS}


def cost_name(method: str) -> str:
    """The method's name in the side-by-side benchmarks."""
    return COST_NAMES.get(method, method)


def budget_iterations(method: str, minutes: int, cost_files=COST_FILES) -> int:
    return round(minutes * 60 / seconds_per_step(cost_files)[method])


def run_name(method: str, minutes: int, seed: int,
             images: str = 'clean') -> str:
    """``<method>_<minutes>min`` (``_noise`` added for degraded images),
    ``-seed<s>`` for seeds other than 0."""
    if images not in IMAGES_KINDS:
        raise ValueError(f'images is one of {IMAGES_KINDS}, got {images!r}')
    suffix = '' if images == 'clean' else f'_{images}'
    return run_key(f'{method}_{minutes}min{suffix}', seed)


def runs(methods, budgets, seeds, images=('clean', )):
    for kind in images:
        for method in methods:
            for minutes in budgets:
                for seed in seeds:
                    yield method, minutes, seed, kind


def pretrain(methods, budgets, seeds, images, cost_file, work_dir,
             data_root):
    for method, minutes, seed, kind in runs(methods, budgets, seeds, images):
        train_budget_run(
            run_name(method, minutes, seed, kind),
            osp.join(CONFIG_ROOT, METHODS[method].config),
            budget_iterations(method, minutes, cost_file), seed, work_dir,
            data_root, ann_file='meta/pretrain_50k.txt',
            checkpoints=CURVE_POINTS, keep=-1,
            degradation=None if kind == 'clean' else NOISE[:2])


def checkpoints(run_dir: str) -> List[int]:
    if not osp.isdir(run_dir):
        return []
    return sorted(
        int(f[len('iter_'):-len('.pth')]) for f in os.listdir(run_dir)
        if f.startswith('iter_') and f.endswith('.pth'))


def curve(methods, budgets, seeds, images, cost_file, work_dir, data_root):
    step = seconds_per_step(cost_file)
    for method, minutes, seed, kind in runs(methods, budgets, seeds, images):
        key = run_name(method, minutes, seed, kind)
        run_dir = osp.join(work_dir, key)
        config = osp.join(run_dir, 'budget_config.py')
        path = osp.join(work_dir, 'eval', f'{key}_curve.json')
        points = load_json(path) or {}
        for iteration in [0] + checkpoints(run_dir):
            if str(iteration) in points or not osp.exists(config):
                continue
            ckpt = osp.join(run_dir, f'iter_{iteration}.pth') \
                if iteration else None
            result = frozen_eval(config, ckpt, data_root, 'train_5k',
                                 'test_1k', False, seed)
            points[str(iteration)] = dict(
                minutes=round(iteration * step[method] / 60, 2),
                knn_top1=result['knn_top1'])
            log(f'{key} iteration {iteration}: k-NN '
                f"{result['knn_top1']:.2f} (train_5k / test_1k)")
            save_json(path, points)


def random_init_config() -> str:
    """The config whose encoder (drawn with a seed) is the random init: the
    encoder is the same in every method's config."""
    return osp.join(CONFIG_ROOT, METHODS['mae'].config)


def evaluate(methods, budgets, seeds, images, cost_file, work_dir,
             data_root, with_random_init=True):
    """k-NN and linear probe (train_50k / test) of each run's last
    checkpoint, and of the random init once per seed
    (``eval/<key>.json``)."""
    for seed in seeds if with_random_init else ():
        key = run_key(RANDOM_INIT, seed)
        path = osp.join(work_dir, 'eval', f'{key}.json')
        if osp.exists(path):
            continue
        result = frozen_eval(random_init_config(), None, data_root,
                             'train_50k', 'test', True, seed)
        result.update(method=RANDOM_INIT, label='random init',
                      budget_minutes=0, seed=seed, iterations=0,
                      images_kind='clean')
        log(f"{key}: k-NN {result['knn_top1']:.2f}, linear probe "
            f"{result['linear_top1']:.2f} (train_50k / test)")
        save_json(path, result)
    for method, minutes, seed, kind in runs(methods, budgets, seeds, images):
        key = run_name(method, minutes, seed, kind)
        iterations = budget_iterations(method, minutes, cost_file)
        run_dir = osp.join(work_dir, key)
        ckpt = osp.join(run_dir, f'iter_{iterations}.pth')
        path = osp.join(work_dir, 'eval', f'{key}.json')
        if osp.exists(path):
            continue
        if not osp.exists(ckpt):
            log(f'{key}: no {ckpt} yet (pretrain stage)')
            continue
        result = frozen_eval(
            osp.join(run_dir, 'budget_config.py'), ckpt, data_root,
            'train_50k', 'test', True, seed)
        result.update(
            method=method, label=METHODS[method].label,
            budget_minutes=minutes, seed=seed, iterations=iterations,
            images_kind=kind, finetune_top1=None, checkpoint=None,
            pretrain_seconds=(load_json(osp.join(
                run_dir, 'wallclock.json')) or {}).get('seconds'))
        log(f"{key}: k-NN {result['knn_top1']:.2f}, linear probe "
            f"{result['linear_top1']:.2f} (train_50k / test)")
        save_json(path, result)


def finetune_key(method: str, minutes: int, seed: int,
                 images: str = 'clean') -> str:
    return run_key(RANDOM_INIT, seed) if method == RANDOM_INIT else \
        run_name(method, minutes, seed, images)


def finetune_curve(ft_dir: str) -> Dict[str, float]:
    """Test top-1 after each validated epoch of a fine-tuning work dir."""
    curve = {}
    for record in scalar_records(ft_dir):
        if 'accuracy/top1' in record:
            curve[str(record['step'])] = record['accuracy/top1']
    return curve


def pending(part, methods, budgets, seeds, images, cost_file, work_dir,
            with_random_init):
    """The jobs of a stage that writes ``eval/<key>_<part>.json``: the
    random init once per seed (if ``with_random_init``), then every run;
    ``(method, minutes, seed, images, key, result path, checkpoint)``, the
    checkpoint None for the random init. Leaves out what is done and, with
    a log line, runs not pre-trained yet."""
    jobs = [(RANDOM_INIT, 0, seed, 'clean') for seed in seeds] if \
        with_random_init else []
    jobs += list(runs(methods, budgets, seeds, images))
    for method, minutes, seed, kind in jobs:
        key = finetune_key(method, minutes, seed, kind)
        path = osp.join(work_dir, 'eval', f'{key}_{part}.json')
        if osp.exists(path):
            continue
        ckpt = None
        if method != RANDOM_INIT:
            iterations = budget_iterations(method, minutes, cost_file)
            ckpt = osp.join(work_dir, key, f'iter_{iterations}.pth')
            if not osp.exists(ckpt):
                log(f'{key}: no {ckpt} yet (pretrain stage); no {part}')
                continue
        yield method, minutes, seed, kind, key, path, ckpt


def finetune(methods, budgets, seeds, images, cost_file, work_dir,
             data_root, with_random_init=True):
    """Fine-tune each run's last checkpoint (and, once per seed, the random
    init) with ``FINETUNE_CONFIG``; the figures go to
    ``eval/<key>_finetune.json``: the last top-1 and the curve."""
    config = osp.join(CONFIG_ROOT, FINETUNE_CONFIG)
    for method, minutes, seed, kind, key, path, ckpt in pending(
            'finetune', methods, budgets, seeds, images, cost_file, work_dir,
            with_random_init):
        options = data_root_options(data_root, [
            'train_dataloader.dataset.dataset', 'val_dataloader.dataset',
            'test_dataloader.dataset'
        ])
        if ckpt is not None:
            options += ['model.backbone.init_cfg.type=Pretrained',
                        f'model.backbone.init_cfg.checkpoint={ckpt}',
                        'model.backbone.init_cfg.prefix=backbone.']
        if seed != SEED:
            options.append(f'randomness.seed={seed}')
        ft_dir = osp.join(work_dir, 'finetune', key)
        seconds = run_command(
            [PYTHON, TRAIN_SCRIPT, config, '--work-dir', ft_dir, '--resume'] +
            (['--cfg-options'] + options if options else []),
            osp.join(ft_dir, 'finetune.log'))
        add_wallclock(osp.join(ft_dir, 'wallclock.json'), seconds)
        curve = finetune_curve(ft_dir)
        epochs = max(map(int, curve), default=0)
        if not curve or not osp.exists(osp.join(ft_dir,
                                                f'epoch_{epochs}.pth')):
            raise RuntimeError(f'{ft_dir}: the fine-tuning ended without a '
                               'test accuracy; see finetune.log.')
        top1 = curve[str(epochs)]
        log(f'{key}: fine-tuned top-1 {top1:.2f} after {epochs} epochs')
        save_json(path, dict(
            method=method, seed=seed, budget_minutes=minutes,
            images_kind=kind, finetune_top1=top1, curve=curve,
            config=FINETUNE_CONFIG,
            seconds=(load_json(osp.join(ft_dir, 'wallclock.json'))
                     or {}).get('seconds')))


def probe(methods, budgets, seeds, images, cost_file, work_dir, data_root,
          devkit, with_random_init=True):
    """The transfer runner's frozen probe and dense probe of each run's last
    checkpoint and, once per seed, of the random init, on the transfer
    VOCdevkit ``devkit`` (written from the CIFAR-10 test images when it is
    not there); ``eval/<key>_probe.json``."""
    import torch

    from tscae_mm.evaluation import build_encoder, encoder_spec

    from .transfer import dense_probe_scores, make_data, probe_scores
    make_data(osp.join(data_root, 'test'), devkit)
    for method, minutes, seed, kind, key, path, ckpt in pending(
            'probe', methods, budgets, seeds, images, cost_file, work_dir,
            with_random_init):
        config = random_init_config() if ckpt is None else \
            osp.join(work_dir, key, 'budget_config.py')
        start = time.time()
        spec = encoder_spec(config)
        torch.manual_seed(seed)
        encoder = build_encoder(spec, ckpt)
        frozen = probe_scores(encoder, spec, devkit)
        dense = dense_probe_scores(encoder, spec, devkit)
        result = dict(
            method=method, seed=seed, budget_minutes=minutes,
            images_kind=kind, checkpoint=ckpt, devkit=devkit,
            probe_map=round(frozen['map'], 2),
            chance_map=round(frozen['chance_map'], 2),
            dense_probe_miou=round(dense['miou'], 2),
            chance_miou=round(dense['chance_miou'], 2),
            seconds=round(time.time() - start, 1))
        log(f"{key}: frozen VOC probe mAP {result['probe_map']:.2f} "
            f"(chance {result['chance_map']:.2f}), dense probe mIoU "
            f"{result['dense_probe_miou']:.2f} (all background "
            f"{result['chance_miou']:.2f})")
        save_json(path, result)


DECIDING_BEGIN = ('<!-- deciding: written by tools/run_deciding.py, do not '
                  'edit -->')
DECIDING_END = '<!-- end of deciding -->'
PARTS = ('curve', 'finetune', 'probe')  # eval/<key>_<part>.json


def read_evals(eval_dir: str) -> List[dict]:
    """One record per run key of ``eval_dir``: its evaluation
    (``<key>.json``), fine-tuning, probes and learning curve, each field
    None where that stage has not run."""
    parts: Dict[str, Dict[str, dict]] = {}
    for file in sorted(os.listdir(eval_dir)) if osp.isdir(eval_dir) else []:
        if not file.endswith('.json'):
            continue
        stem = file[:-len('.json')]
        key, part = stem, 'eval'
        for name in PARTS:
            if stem.endswith(f'_{name}'):
                key, part = stem[:-len(name) - 1], name
        data = load_json(osp.join(eval_dir, file))
        if data:
            parts.setdefault(key, {})[part] = data
    records = []
    for key, found in sorted(parts.items()):
        base = next((found[p] for p in ('eval', 'finetune', 'probe')
                     if p in found and 'method' in found[p]), None)
        if base is None:
            continue  # a curve alone
        method = base['method']
        ev, ft, pr = (found.get(p, {}) for p in ('eval', 'finetune',
                                                  'probe'))
        records.append(dict(
            method=method,
            label=METHODS[method].label if method in METHODS else
            'random init',
            budget_minutes=base['budget_minutes'], seed=base['seed'],
            iterations=0 if method == RANDOM_INIT else ev.get('iterations'),
            images_kind=base.get('images_kind', 'clean'),
            knn_top1=ev.get('knn_top1'), linear_top1=ev.get('linear_top1'),
            finetune_top1=ft.get('finetune_top1'),
            finetune_curve=ft.get('curve'),
            probe_map=pr.get('probe_map'),
            dense_probe_miou=pr.get('dense_probe_miou'),
            pretrain_seconds=ev.get('pretrain_seconds'),
            curve=[[p['minutes'], p['knn_top1']] for _, p in sorted(
                found.get('curve', {}).items(), key=lambda kv: int(kv[0]))]))
    return records


def collect(work_dir: str, out: str) -> dict:
    """Every run's figures: this work dir's over the committed ones (same
    method, budget, seed and images; a figure this work dir lacks keeps its
    committed value unless the iterations differ)."""
    study = load_json(osp.join(out, 'study.json')) or {}
    old = study.get('deciding', {})
    by_key = {(r['method'], r['budget_minutes'], r['seed'],
               r['images_kind']): r for r in old.get('runs', [])}
    for rec in read_evals(osp.join(work_dir, 'eval')):
        key = (rec['method'], rec['budget_minutes'], rec['seed'],
               rec['images_kind'])
        committed = by_key.get(key)
        if committed is None or None not in (
                rec['iterations'], committed.get('iterations')) and \
                rec['iterations'] != committed['iterations']:
            by_key[key] = rec
        else:
            by_key[key] = dict(committed, **{
                k: v for k, v in rec.items() if v not in (None, [])})
    section = dict(
        images=IMAGES,
        finetune=dict(config=osp.join('projects/tscae_study/configs',
                                      FINETUNE_CONFIG),
                      images=FINETUNE_PER_CLASS * len(CLASSES)),
        budgets_minutes=list(BUDGETS_MINUTES),
        noise=dict(kind=NOISE[0], severity=NOISE[1], description=NOISE[2]),
        goal_method=GOAL_METHOD,
        runs=[by_key[k] for k in sorted(by_key)],
        curves_png='docs/results/deciding_curves.png')
    section['verdicts'] = verdicts(section)
    return section


def summaries(section: dict) -> Dict[tuple, dict]:
    """Per ``(images_kind, budget_minutes, method)``: the label, seeds,
    iterations and, per metric of :data:`METRICS`, ``<metric>_mean``,
    ``_spread``, ``_min``, ``_max`` and ``_n`` (runs with a value), as
    :mod:`tscae_study.comparison` reads them."""
    groups: Dict[tuple, List[dict]] = {}
    for r in section['runs']:
        groups.setdefault((r['images_kind'], r['budget_minutes'],
                           r['method']), []).append(r)
    out = {}
    for key, group in groups.items():
        group.sort(key=lambda r: r['seed'])
        record = dict(label=group[0]['label'], method=key[2],
                      seeds=[r['seed'] for r in group],
                      iterations=group[0]['iterations'])
        for metric, _ in METRICS:
            values = [r.get(metric) for r in group
                      if r.get(metric) is not None]
            record.update({f'{metric}_{k}': v
                           for k, v in summarise(values).items()})
            record[f'{metric}_n'] = len(values)
        out[key] = record
    return out


def change(clean: dict, noisy: dict, minutes: int) -> dict:
    """A method's change from clean to noisy pre-training images per
    metric at a budget, with the range of its per-seed differences, in the
    form of :func:`tscae_study.comparison.degradation_drops`' rows
    (``images``: ``noise@<minutes>``, :func:`noise_descriptions`)."""
    row = dict(label=noisy['label'], images=f'noise@{minutes}')
    for metric, _ in METRICS:
        result = compare(noisy, clean, metric)
        row[f'{metric}_change'] = None if result is None else \
            result['difference']
        if result is not None:
            row[f'{metric}_change_min'] = (noisy[f'{metric}_min'] -
                                           clean[f'{metric}_max'])
            row[f'{metric}_change_max'] = (noisy[f'{metric}_max'] -
                                           clean[f'{metric}_min'])
            row[f'{metric}_clean_spread'] = clean[f'{metric}_spread']
            row[f'{metric}_degraded_spread'] = noisy[f'{metric}_spread']
            row[f'{metric}_seeds'] = (clean[f'{metric}_n'],
                                      noisy[f'{metric}_n'])
    return row


def changes(section: dict) -> Dict[tuple, dict]:
    """Per ``(budget_minutes, method)`` with clean and noisy runs: its
    :func:`change`."""
    found = summaries(section)
    return {(minutes, method): change(
        found[('clean', minutes, method)], noisy, minutes)
        for (kind, minutes, method), noisy in sorted(found.items())
        if kind == 'noise' and ('clean', minutes, method) in found}


def noise_descriptions(drops: Dict[tuple, dict]) -> Dict[str, str]:
    """The degradation column of the noise table, per row's ``images``."""
    return {f'noise@{minutes}': f'{NOISE[2]}, {minutes} min'
            for minutes, _ in drops}


def goal_line(found: Dict[tuple, dict], minutes: int) -> str:
    """Whether :data:`GOAL_METHOD` is above MAE at ``minutes`` on the
    linear probe and fine-tuning by more than the spread (the issue's
    goal)."""
    goal, mae = (found.get(('clean', minutes, m)) for m in (GOAL_METHOD,
                                                            'mae'))
    name = METHODS[GOAL_METHOD].label
    parts, met = [], True
    for metric, label in METRICS[1:3]:
        result = None if goal is None or mae is None else \
            compare(goal, mae, metric)
        if result is None:
            return (f'goal ({name} above MAE at {minutes} min on linear '
                    f'probe and fine-tune, by more than the spread): not '
                    f'measured yet ({label} missing)')
        judged = min(result['seeds']) >= 2
        met &= judged and result['outside_spread'] and \
            result['difference'] > 0
        parts.append(f"{label} {result['difference']:+.2f}" + (
            '' if judged else ' (one seed)'))
    outcome = 'met' if met else 'not met'
    return (f'goal ({name} above MAE at {minutes} min on linear probe and '
            f"fine-tune, by more than the spread): {outcome} "
            f"({', '.join(parts)})")


def verdicts(section: dict) -> List[str]:
    """Plain lines: every TSCAE method against MAE per budget and metric
    (inside or outside the spread), the goal at the largest budget, and the
    change under noise of :data:`GOAL_METHOD` against MAE's."""
    found = summaries(section)
    lines = []
    budgets = sorted({m for (kind, m, method) in found
                      if kind == 'clean' and method != RANDOM_INIT})
    for minutes in budgets:
        mae = found.get(('clean', minutes, 'mae'))
        for method in METHODS:
            other = found.get(('clean', minutes, method))
            if method == 'mae' or mae is None or other is None:
                continue
            for metric, name in METRICS:
                if compare(other, mae, metric) is not None:
                    lines.append(verdict(other, mae, metric,
                                         f'{minutes} min, {name}'))
    lines.append(goal_line(found, max(BUDGETS_MINUTES)))
    drops = changes(section)
    for minutes in budgets:
        if (minutes, GOAL_METHOD) in drops and (minutes, 'mae') in drops:
            for metric, name in METRICS[:3]:
                lines.append(drop_verdict(
                    drops[(minutes, GOAL_METHOD)], drops[(minutes, 'mae')],
                    metric, f'{minutes} min, change under {NOISE[2]}, '
                    f'{name}'))
    return lines


def cell(record: dict, metric: str, missing: str = '-') -> str:
    """A summary's metric as mean (min-max over the seeds), ``missing``
    without a value."""
    n = record[f'{metric}_n']
    if not n:
        return missing
    text = f"{record[f'{metric}_mean']:.2f}"
    return text + (f" ({record[f'{metric}_min']:.2f}-"
                   f"{record[f'{metric}_max']:.2f})" if n > 1 else '')


def table(section: dict) -> str:
    """Markdown: clean pre-training images, one row per method and budget,
    mean (min-max over the seeds)."""
    rows = ['| method | budget | iterations | k-NN top-1 | linear probe | '
            'fine-tune | seeds |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for (kind, minutes, method), r in sorted(summaries(section).items()):
        if kind != 'clean':
            continue
        pretrained = method != RANDOM_INIT
        rows.append(
            f"| {r['label']} | {f'{minutes} min' if pretrained else '-'} | "
            f"{r['iterations'] if pretrained else '-'} | "
            f"{cell(r, 'knn_top1')} | {cell(r, 'linear_top1')} | "
            f"{cell(r, 'finetune_top1', 'pending')} | {len(r['seeds'])} |")
    return '\n'.join(rows)


def probe_table(section: dict) -> str:
    """Markdown: the frozen VOC probes of the clean runs that have them."""
    rows = ['| method | budget | frozen VOC probe mAP | dense VOC probe mIoU '
            '| seeds |', '| --- | ---: | ---: | ---: | ---: |']
    for (kind, minutes, method), r in sorted(summaries(section).items()):
        if kind != 'clean' or not r['probe_map_n']:
            continue
        rows.append(f"| {r['label']} | "
                    f"{f'{minutes} min' if method != RANDOM_INIT else '-'} "
                    f"| {cell(r, 'probe_map')} | "
                    f"{cell(r, 'dense_probe_miou')} | {r['probe_map_n']} |")
    return '\n'.join(rows) if len(rows) > 2 else ''


def section_text(section: dict) -> str:
    """What the report writes between the markers of docs/results.md."""
    text = table(section)
    drops = changes(section)
    if drops:
        text += (f'\n\nPre-training on noisy images ({NOISE[2]} on every '
                 'image; evaluated on clean images): change from the clean '
                 'runs at the same budget\n\n' + drop_table(
                     list(drops.values()), noise_descriptions(drops)))
    probes = probe_table(section)
    if probes:
        text += ('\n\nThe transfer runner\'s frozen probes (VOC devkit of '
                 'the transfer benchmark, docs/results.md "Transfer")\n\n'
                 + probes)
    return text + '\n\n' + '\n'.join(f'- {line}'
                                    for line in section['verdicts'])


def plot(section: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_method: Dict[str, List[dict]] = {}
    for r in section['runs']:
        if r['images_kind'] == 'clean' and r.get('curve'):
            by_method.setdefault(r['label'], []).append(r)
    for label, group in sorted(by_method.items()):
        longest = max(r['budget_minutes'] for r in group)
        lines = [r['curve'] for r in group if r['budget_minutes'] == longest]
        xs = [p[0] for p in lines[0]]
        ys = [[p[1] for p in line] for line in lines
              if len(line) == len(xs)]
        low = [min(v) for v in zip(*ys)]
        high = [max(v) for v in zip(*ys)]
        avg = [sum(v) / len(v) for v in zip(*ys)]
        (line, ) = ax.plot(xs, avg, marker='o', ms=3,
                           label=f'{label} ({len(ys)} seed'
                           f"{'s' if len(ys) > 1 else ''}, {longest} min)")
        if len(ys) > 1:
            ax.fill_between(xs, low, high, alpha=0.2, color=line.get_color())
    ax.set_xlabel('same-condition wall-clock (minutes of one training alone '
                  'on 2 cores)')
    ax.set_ylabel('k-NN top-1 (bank train_5k, queries test_1k)')
    ax.set_title('Deciding tier: 50,000 CIFAR-10 images')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(work_dir: str, out: str) -> None:
    section = collect(work_dir, out)
    study_path = osp.join(out, 'study.json')
    study = load_json(study_path) or {}
    study['deciding'] = section
    save_json(study_path, study)
    if any(r.get('curve') and r['images_kind'] == 'clean'
           for r in section['runs']):
        plot(section, osp.join(out, 'deciding_curves.png'))
    text = section_text(section)
    write_between_markers(
        osp.join(osp.dirname(out), 'results.md'), DECIDING_BEGIN, DECIDING_END,
        text)
    log(f'wrote {study_path} (deciding):\n{text}')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        default=list(STAGES))
    parser.add_argument('--methods', nargs='*', choices=list(METHODS),
                        default=list(METHODS),
                        help='pre-trained methods (none: only the random '
                        "init's stages)")
    parser.add_argument('--budgets', nargs='+', type=int,
                        default=list(BUDGETS_MINUTES),
                        help='minutes of one training alone on 2 cores')
    parser.add_argument('--seeds', nargs='+', type=int, default=[SEED])
    parser.add_argument('--images', nargs='+', choices=IMAGES_KINDS,
                        default=['clean'],
                        help='pre-training images: clean, or noise '
                        f'({NOISE[2]} on each; evaluation is on clean '
                        'images)')
    parser.add_argument('--data-root', default='data/cifar10')
    parser.add_argument('--work-dir', default='work_dirs/deciding')
    parser.add_argument('--out', default='docs/results')
    parser.add_argument('--voc-devkit', default=None,
                        help='probe stage: the transfer VOCdevkit (default: '
                        "the transfer benchmark's, written from the CIFAR-10 "
                        'test images when it is not there)')
    parser.add_argument('--cost-file', nargs='+', default=list(COST_FILES),
                        help="side-by-side step times (MAE's of the first "
                        'file, the cost ratios of all)')
    parser.add_argument('--no-random-init', action='store_true',
                        help='evaluate, finetune and probe stages: leave out '
                        'the random init')
    args = parser.parse_args(argv)
    common = (args.methods, args.budgets, args.seeds, args.images,
              args.cost_file, args.work_dir, args.data_root)
    with_random_init = not args.no_random_init
    if 'prepare' in args.stages:
        prepare(args.data_root)
    if set(args.stages) & {'pretrain', 'curve', 'evaluate', 'finetune',
                           'probe'}:
        check_lists(args.data_root)
    if 'pretrain' in args.stages:
        pretrain(*common)
    if 'curve' in args.stages:
        curve(*common)
    if 'evaluate' in args.stages:
        evaluate(*common, with_random_init=with_random_init)
    if 'finetune' in args.stages:
        finetune(*common, with_random_init=with_random_init)
    if 'probe' in args.stages:
        from .transfer import DATA_ROOT
        probe(*common, args.voc_devkit or DATA_ROOT,
              with_random_init=with_random_init)
    if 'report' in args.stages:
        report(args.work_dir, args.out)
