"""The deciding tier (issue 24): TSCAE vs MAE pre-trained on all 50,000
CIFAR-10 training images, at equal same-condition wall-clock budgets, with
learning curves.

Budgets are minutes of one training alone on the machine's 2 cores,
converted into iterations from each method's median seconds per step in
one side-by-side benchmark (:mod:`tscae_study.speed.side_by_side`, 2
threads; ``--cost-file``), so that runs may share the machine afterwards.
Each budget is a complete schedule (a sixth linear warm-up, then cosine to
0), written as a config that inherits the method's study config with the
50,000-image list (``budget_config``), saving ``CURVE_POINTS`` evenly spaced
checkpoints.

Stages (each skips what is done; a rerun resumes an interrupted training):

- ``prepare``: the image lists ``meta/pretrain_50k.txt`` (unlabelled) and
  ``meta/train_50k.txt`` (labelled) beside the study's lists;
- ``pretrain``: every method x budget x seed;
- ``curve``: k-NN top-1 (bank train_5k, queries test_1k: the study's
  cheaper split) of every saved checkpoint, against same-condition minutes;
- ``evaluate``: the last checkpoint's k-NN (bank: the 50,000 training
  images) and linear probe (trained on them) on the 10,000 test images;
- ``report``: ``study.json['deciding']``, the learning-curve plot and the
  table between markers in docs/results.md.

Runs must finish within one working session (a later one may start on a
fresh machine without the work dir); the budgets are sized for that.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional

from .efficiency import mean, spread, train_budget_run
from .runs import CLASSES, CONFIG_ROOT, SEED, run_key
from .stages import (
    frozen_eval,
    load_json,
    log,
    save_json,
    write_between_markers,
)

STAGES = ('prepare', 'pretrain', 'curve', 'evaluate', 'report')
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
           'cifar10-5k_sibling-views-4.py', 'TSCAE efficient'),
}


def prepare(data_root: str) -> None:
    """Write the 50,000-image lists (every training image, class folder
    order, sorted names)."""
    unlabelled, labelled = [], []
    for label, cls in enumerate(CLASSES):
        folder = osp.join(data_root, 'train', cls)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{folder} not found: run the study\'s prepare stage first '
                '(tools/run_study.py --stages prepare --archive ...).')
        for name in sorted(os.listdir(folder)):
            unlabelled.append(f'train/{cls}/{name}')
            labelled.append(f'train/{cls}/{name} {label}')
    os.makedirs(osp.join(data_root, 'meta'), exist_ok=True)
    for file, lines in (('pretrain_50k.txt', unlabelled),
                        ('train_50k.txt', labelled)):
        with open(osp.join(data_root, 'meta', file), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    log(f'{len(unlabelled)} training images listed in {data_root}/meta')


def seconds_per_step(cost_file: str) -> Dict[str, float]:
    record = load_json(cost_file)
    if record is None:
        raise FileNotFoundError(f'{cost_file} not found: time the methods '
                                'with tools/run_efficiency.py --stages cost')
    return {name: row['median_s'] for name, row in record['configs'].items()}


def cost_name(method: str) -> str:
    """The method's name in the side-by-side benchmark."""
    return {'tscae_efficient': 'sibling_views_4'}.get(method, method)


def budget_iterations(method: str, minutes: int, cost_file: str) -> int:
    return round(minutes * 60 / seconds_per_step(cost_file)[cost_name(
        method)])


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
                minutes=round(iteration * step[cost_name(method)] / 60, 2),
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
                    finetune_top1=rec.get('finetune_top1'),
                    pretrain_seconds=rec.get('pretrain_seconds'),
                    curve=[[p['minutes'], p['knn_top1']] for _, p in sorted(
                        curve_points.items(), key=lambda kv: int(kv[0]))])
    return dict(
        images=IMAGES,
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
    for (minutes, method), group in sorted(groups.items()):
        knn = [r['knn_top1'] for r in group]
        lin = [r['linear_top1'] for r in group]
        ft = [r['finetune_top1'] for r in group
              if r.get('finetune_top1') is not None]
        rows.append(
            f"| {group[0]['label']} | {minutes} min | "
            f"{group[0]['iterations']} | {mean(knn):.2f}{spread(knn)} | "
            f"{mean(lin):.2f}{spread(lin)} | "
            f"{f'{mean(ft):.2f}{spread(ft)}' if ft else 'pending'} | "
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
    parser.add_argument('--cost-file',
                        default='docs/speed/side_by_side_study_t2.json')
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
    if 'report' in args.stages:
        report(args.work_dir, args.out)
