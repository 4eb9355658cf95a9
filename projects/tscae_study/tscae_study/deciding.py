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
- ``report``: ``study.json['deciding']``, the learning-curve plot and the
  table between markers in docs/results.md.

Runs must finish within one working session (a later one may start on a
fresh machine without the work dir); the budgets are sized for that.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional

from .efficiency import (
    COST_FILES,
    load_costs,
    mean,
    spread,
    train_budget_run,
)
from .runs import CLASSES, CONFIG_ROOT, PYTHON, SEED, TRAIN_SCRIPT, run_key
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

STAGES = ('prepare', 'pretrain', 'curve', 'evaluate', 'finetune', 'report')
BUDGETS_MINUTES = (20, 60)
CURVE_POINTS = 10
IMAGES = 50000


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


def run_name(method: str, minutes: int, seed: int) -> str:
    return run_key(f'{method}_{minutes}min', seed)


def runs(methods, budgets, seeds):
    for method in methods:
        for minutes in budgets:
            for seed in seeds:
                yield method, minutes, seed


def pretrain(methods, budgets, seeds, cost_file, work_dir, data_root):
    for method, minutes, seed in runs(methods, budgets, seeds):
        train_budget_run(
            run_name(method, minutes, seed),
            osp.join(CONFIG_ROOT, METHODS[method].config),
            budget_iterations(method, minutes, cost_file), seed, work_dir,
            data_root, ann_file='meta/pretrain_50k.txt',
            checkpoints=CURVE_POINTS, keep=-1)


def checkpoints(run_dir: str) -> List[int]:
    if not osp.isdir(run_dir):
        return []
    return sorted(
        int(f[len('iter_'):-len('.pth')]) for f in os.listdir(run_dir)
        if f.startswith('iter_') and f.endswith('.pth'))


def curve(methods, budgets, seeds, cost_file, work_dir, data_root):
    step = seconds_per_step(cost_file)
    for method, minutes, seed in runs(methods, budgets, seeds):
        key = run_name(method, minutes, seed)
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


def evaluate(methods, budgets, seeds, cost_file, work_dir, data_root):
    for method, minutes, seed in runs(methods, budgets, seeds):
        key = run_name(method, minutes, seed)
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
            images_kind='clean', finetune_top1=None, checkpoint=None,
            pretrain_seconds=(load_json(osp.join(
                run_dir, 'wallclock.json')) or {}).get('seconds'))
        log(f"{key}: k-NN {result['knn_top1']:.2f}, linear probe "
            f"{result['linear_top1']:.2f} (train_50k / test)")
        save_json(path, result)


def finetune_key(method: str, minutes: int, seed: int) -> str:
    return run_key(RANDOM_INIT, seed) if method == RANDOM_INIT else \
        run_name(method, minutes, seed)


def finetune_curve(ft_dir: str) -> Dict[str, float]:
    """Test top-1 after each validated epoch of a fine-tuning work dir."""
    curve = {}
    for record in scalar_records(ft_dir):
        if 'accuracy/top1' in record:
            curve[str(record['step'])] = record['accuracy/top1']
    return curve


def finetune(methods, budgets, seeds, cost_file, work_dir, data_root,
             with_random_init=True):
    """Fine-tune each run's last checkpoint (and, once per seed, the random
    init) with ``FINETUNE_CONFIG``; the figures go to
    ``eval/<key>_finetune.json``: the last top-1 and the curve."""
    config = osp.join(CONFIG_ROOT, FINETUNE_CONFIG)
    jobs = [(RANDOM_INIT, 0, seed) for seed in seeds] if \
        with_random_init else []
    jobs += list(runs(methods, budgets, seeds))
    for method, minutes, seed in jobs:
        key = finetune_key(method, minutes, seed)
        path = osp.join(work_dir, 'eval', f'{key}_finetune.json')
        if osp.exists(path):
            continue
        options = data_root_options(data_root, [
            'train_dataloader.dataset.dataset', 'val_dataloader.dataset',
            'test_dataloader.dataset'
        ])
        if method != RANDOM_INIT:
            iterations = budget_iterations(method, minutes, cost_file)
            ckpt = osp.join(work_dir, key, f'iter_{iterations}.pth')
            if not osp.exists(ckpt):
                log(f'{key}: no {ckpt} yet (pretrain stage); not fine-tuned')
                continue
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
            finetune_top1=top1, curve=curve, config=FINETUNE_CONFIG,
            seconds=(load_json(osp.join(ft_dir, 'wallclock.json'))
                     or {}).get('seconds')))


DECIDING_BEGIN = ('<!-- deciding: written by tools/run_deciding.py, do not '
                  'edit -->')
DECIDING_END = '<!-- end of deciding -->'


def collect(work_dir: str, out: str) -> dict:
    """Every run's figures: this work dir's evaluations over the committed
    ones (same method, budget, seed, images and iterations)."""
    study = load_json(osp.join(out, 'study.json')) or {}
    old = study.get('deciding', {})
    by_key = {(r['method'], r['budget_minutes'], r['seed'],
               r['images_kind']): r for r in old.get('runs', [])}
    eval_dir = osp.join(work_dir, 'eval')
    for file in sorted(os.listdir(eval_dir)) if osp.isdir(eval_dir) else []:
        if file.endswith('_curve.json'):
            continue
        rec = load_json(osp.join(eval_dir, file))
        if not rec or 'method' not in rec:
            continue
        if file.endswith('_finetune.json'):
            # a pre-trained run's fine-tuning goes with that run's record
            # (below); the random init's is a record of its own
            if rec['method'] == RANDOM_INIT:
                by_key[(RANDOM_INIT, 0, rec['seed'], 'clean')] = dict(
                    method=RANDOM_INIT, label='random init',
                    budget_minutes=0, seed=rec['seed'], iterations=0,
                    images_kind='clean', knn_top1=None, linear_top1=None,
                    finetune_top1=rec['finetune_top1'],
                    finetune_curve=rec['curve'], pretrain_seconds=None,
                    curve=[])
            continue
        curve_points = load_json(
            osp.join(eval_dir, file[:-len('.json')] + '_curve.json')) or {}
        by_key[(rec['method'], rec['budget_minutes'], rec['seed'],
                rec['images_kind'])] = dict(
                    method=rec['method'], label=rec['label'],
                    budget_minutes=rec['budget_minutes'], seed=rec['seed'],
                    iterations=rec['iterations'],
                    images_kind=rec['images_kind'],
                    knn_top1=rec['knn_top1'],
                    linear_top1=rec['linear_top1'],
                    finetune_top1=(load_json(osp.join(
                        eval_dir, file[:-len('.json')] + '_finetune.json'))
                        or {}).get('finetune_top1', rec.get('finetune_top1')),
                    pretrain_seconds=rec.get('pretrain_seconds'),
                    curve=[[p['minutes'], p['knn_top1']] for _, p in sorted(
                        curve_points.items(), key=lambda kv: int(kv[0]))])
    return dict(
        images=IMAGES,
        finetune=dict(config=osp.join('projects/tscae_study/configs',
                                      FINETUNE_CONFIG),
                      images=FINETUNE_PER_CLASS * len(CLASSES)),
        budgets_minutes=list(BUDGETS_MINUTES),
        runs=[by_key[k] for k in sorted(by_key)],
        curves_png='docs/results/deciding_curves.png')


def table(section: dict) -> str:
    rows = ['| method | budget | iterations | k-NN top-1 | linear probe | '
            'fine-tune | seeds |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    groups: Dict[tuple, List[dict]] = {}
    for r in section['runs']:
        if r['images_kind'] == 'clean':
            groups.setdefault((r['budget_minutes'], r['method']),
                              []).append(r)
    def cell(values: List[Optional[float]], missing: str) -> str:
        values = [v for v in values if v is not None]
        return f'{mean(values):.2f}{spread(values)}' if values else missing

    for (minutes, method), group in sorted(groups.items()):
        pretrained = method != RANDOM_INIT
        rows.append(
            f"| {group[0]['label']} | "
            f"{f'{minutes} min' if pretrained else '-'} | "
            f"{group[0]['iterations'] if pretrained else '-'} | "
            f"{cell([r['knn_top1'] for r in group], '-')} | "
            f"{cell([r['linear_top1'] for r in group], '-')} | "
            f"{cell([r.get('finetune_top1') for r in group], 'pending')} | "
            f'{len(group)} |')
    return '\n'.join(rows)


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
    if any(r.get('curve') for r in section['runs']):
        plot(section, osp.join(out, 'deciding_curves.png'))
    text = table(section)
    write_between_markers(
        osp.join(osp.dirname(out), 'results.md'), DECIDING_BEGIN, DECIDING_END,
        text)
    log(f'wrote {study_path} (deciding):\n{text}')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        default=list(STAGES))
    parser.add_argument('--methods', nargs='+', choices=list(METHODS),
                        default=list(METHODS))
    parser.add_argument('--budgets', nargs='+', type=int,
                        default=list(BUDGETS_MINUTES),
                        help='minutes of one training alone on 2 cores')
    parser.add_argument('--seeds', nargs='+', type=int, default=[SEED])
    parser.add_argument('--data-root', default='data/cifar10')
    parser.add_argument('--work-dir', default='work_dirs/deciding')
    parser.add_argument('--out', default='docs/results')
    parser.add_argument('--cost-file', nargs='+', default=list(COST_FILES),
                        help="side-by-side step times (MAE's of the first "
                        'file, the cost ratios of all)')
    parser.add_argument('--no-random-init', action='store_true',
                        help='finetune stage: leave out the random init')
    args = parser.parse_args(argv)
    common = (args.methods, args.budgets, args.seeds)
    if 'prepare' in args.stages:
        prepare(args.data_root)
    if 'pretrain' in args.stages:
        pretrain(*common, args.cost_file, args.work_dir, args.data_root)
    if 'curve' in args.stages:
        curve(*common, args.cost_file, args.work_dir, args.data_root)
    if 'evaluate' in args.stages:
        evaluate(*common, args.cost_file, args.work_dir, args.data_root)
    if 'finetune' in args.stages:
        finetune(*common, args.cost_file, args.work_dir, args.data_root,
                 with_random_init=not args.no_random_init)
    if 'report' in args.stages:
        report(args.work_dir, args.out)
