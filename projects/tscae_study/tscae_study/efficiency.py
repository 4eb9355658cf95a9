"""TSCAE at MAE's price (issue 22): cheaper TSCAE variants screened against
MAE at equal wall-clock on the study's 5,000-image tier.

Cost: every candidate's training step is timed side by side with MAE's in
one process (:mod:`tscae_study.speed.side_by_side`); ``cost_ratio_to_mae``
is its median seconds per step over MAE's. A step holds 64 encoder
sequences for every candidate (64 images, or 16 images x 4 views).

Budgets: MAE's 6-epoch study run (``short``, 474 iterations) and the
22-epoch equal-time MAE (``long``, 1,738 iterations). A candidate gets the
same same-condition wall-clock: ``round(MAE iterations / cost ratio)``
iterations, with the study's schedule shape (linear warm-up over the first
sixth, then cosine to 0), written as a config that inherits the
candidate's (``budget_config``). MAE's figures are its committed study runs
(``mae``, ``mae_equal_time``), whose schedules are exactly these.

Evaluation: the study's frozen evaluation (k-NN, linear probe; bank / probe
training set train_5k, all 10,000 test images) and the collapse statistics
of the plain encoder on 256 test images.
"""
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .runs import CONFIG_ROOT, PYTHON, SEED, parse_key, run_key
from .stages import (
    add_wallclock,
    frozen_eval,
    load_json,
    log,
    run_command,
    save_json,
    write_between_markers,
)

MAE_ITERATIONS = {'short': 474, 'long': 1738}  # 6 and 22 epochs of 79
BUDGET_LABELS = {
    'short': "MAE's 6-epoch time",
    'long': "the 22-epoch equal-time MAE's time"
}
SCREENING = ('screening_efficiency/'
             'tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_')


class Candidate(NamedTuple):
    config: str  # relative to the study's configs folder
    label: str
    # the study runs that hold MAE's figures, per budget
    committed: Optional[Dict[str, str]] = None


CANDIDATES: Dict[str, Candidate] = {
    'mae':
    Candidate('mae_vit-tiny-d6-p4_6e_cifar10-5k.py', 'MAE',
              dict(short='mae', long='mae_equal_time')),
    'tscae_recommended':
    Candidate('tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py',
              'TSCAE recommended (reference passes, one-way contrast)'),
    'tscae_recommended_token_drop':
    Candidate('tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_recommended.py',
              'TSCAE recommended, token-drop passes'),
    'no_grad_student':
    Candidate('screening/tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_'
              'one-sided_stop-grad-global.py',
              'no-grad student (token-drop, one-way, stop-grad global)'),
    'no_grad_student_decoder_1l':
    Candidate(SCREENING + 'no-grad-student_decoder-1l.py',
              'no-grad student, 1-layer decoder'),
    'no_grad_student_infonce_image':
    Candidate(SCREENING + 'no-grad-student_infonce-image.py',
              'no-grad student, same-image InfoNCE'),
    'sibling_views_4':
    Candidate(SCREENING + 'sibling-views-4.py',
              'sibling-view targets, 4 views'),
    'sibling_views_4_infonce_image':
    Candidate(SCREENING + 'sibling-views-4_infonce-image.py',
              'sibling-view targets, 4 views, same-image InfoNCE'),
    'sibling_views_4_vicreg':
    Candidate(SCREENING + 'sibling-views-4_vicreg.py',
              'sibling-view targets, 4 views, variance / covariance term'),
    'sibling_views_4_vicreg_quarter':
    Candidate(SCREENING + 'sibling-views-4_vicreg-quarter.py',
              'sibling-view targets, 4 views, variance / covariance term '
              'at a quarter weight'),
    'sibling_views_4_vicreg_expander':
    Candidate(SCREENING + 'sibling-views-4_vicreg-expander.py',
              'sibling-view targets, 4 views, variance / covariance term '
              'behind an expander'),
    'sibling_views_4_vicreg_infonce_image':
    Candidate(SCREENING + 'sibling-views-4_vicreg_infonce-image.py',
              'sibling-view targets, 4 views, variance / covariance term, '
              'same-image InfoNCE'),
}


def config_path(name: str) -> str:
    return osp.join(CONFIG_ROOT, CANDIDATES[name].config)


COST_FILES = ('docs/speed/side_by_side_study_t2.json',
              'docs/speed/side_by_side_study_t2_vicreg_forms.json')


def load_costs(cost_files: Union[str, Sequence[str]]) -> Dict[str, dict]:
    """Each candidate's side-by-side step time: ``cost_ratio`` (over MAE's
    in the same run), ``median_s`` and ``file``, from benchmark JSONs whose
    configs are named after the candidates, MAE first in each. A candidate
    timed in several files takes the first file's figures (the ones its
    runs' iterations were computed from)."""
    costs: Dict[str, dict] = {}
    for cost_file in [cost_files] if isinstance(cost_files, str) \
            else cost_files:
        record = load_json(cost_file)
        if record is None:
            raise FileNotFoundError(
                f'{cost_file} not found: run the cost stage first.')
        configs = record['configs']
        if next(iter(configs)) != 'mae':
            raise ValueError(f'{cost_file}: the first (reference) config '
                             f"must be 'mae', got {next(iter(configs))!r}.")
        for name, row in configs.items():
            costs.setdefault(name, dict(
                cost_ratio=row['cost_ratio'], median_s=row['median_s'],
                mae_median_s=configs['mae']['median_s'], file=cost_file,
                command=record.get('command'), threads=record.get('threads'),
                loadavg_before=record.get('loadavg_before')))
    return costs


def cost_ratios(cost_files: Union[str, Sequence[str]]) -> Dict[str, float]:
    """``cost_ratio`` of every candidate (:func:`load_costs`)."""
    return {name: row['cost_ratio']
            for name, row in load_costs(cost_files).items()}


def budget_iterations(budget: str, ratio: float) -> int:
    return round(MAE_ITERATIONS[budget] / ratio)


def budget_config(base: str,
                  iterations: int,
                  data_root: str,
                  ann_file: Optional[str] = None,
                  checkpoints: int = 4,
                  keep: int = 2,
                  degradation: Optional[Tuple[str, int]] = None) -> str:
    """A config inheriting ``base`` that trains ``iterations`` iterations
    with the study's schedule shape (a sixth linear warm-up, then cosine to
    0), saving ``checkpoints`` evenly spaced checkpoints (the last ``keep``
    kept; -1: all) for resumption, evaluation and learning curves;
    ``ann_file`` replaces the base's image list; ``degradation`` (kind,
    severity) puts an ``ImageDegradation`` step right after the base
    pipeline's loading step, so every pre-training image is degraded."""
    warmup = round(iterations / 6)
    dataset = f'data_root={data_root!r}' + (
        '' if ann_file is None else f', ann_file={ann_file!r}')
    if degradation is not None:
        kind, severity = degradation
        pipeline = '_base_.train_dataloader.dataset.dataset.pipeline'
        dataset += (f',\n    pipeline=[*{pipeline}[:1],\n'
                    f'              dict(type=\'ImageDegradation\', '
                    f'kind={kind!r}, severity={severity}),\n'
                    f'              *{pipeline}[1:]]')
    return f"""# written by tools/run_efficiency.py: {iterations} iterations
_base_ = {osp.abspath(base)!r}
max_iters = {iterations}
warmup_iters = {warmup}
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min=0., by_epoch=False, begin=warmup_iters, end=max_iters)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval={max(1, iterations // checkpoints)},
                    max_keep_ckpts={keep}))
log_processor = dict(by_epoch=False)
train_dataloader = dict(dataset=dict(dataset=dict({dataset})))
"""


def run_name(name: str, budget: str, seed: int) -> str:
    return run_key(f'{name}_{budget}', seed)


def train_budget_run(key: str, base: str, iterations: int, seed: int,
                     work_dir: str, data_root: str, **config_options) -> None:
    """Train run ``key``: ``base`` for ``iterations`` iterations
    (:func:`budget_config`, which ``config_options`` go to) with ``seed``,
    in ``work_dir/key``; skipped when its last checkpoint exists, resumed
    when interrupted; its wall-clock is summed in ``wallclock.json``."""
    run_dir = osp.join(work_dir, key)
    if osp.exists(osp.join(run_dir, f'iter_{iterations}.pth')):
        log(f'{key}: pre-trained already')
        return
    os.makedirs(run_dir, exist_ok=True)
    config = osp.join(run_dir, 'budget_config.py')
    with open(config, 'w') as f:
        f.write(budget_config(base, iterations, data_root, **config_options))
    cmd = [PYTHON, 'tools/train.py', config, '--work-dir', run_dir,
           '--resume']
    if seed != SEED:
        cmd += ['--cfg-options', f'randomness.seed={seed}']
    seconds = run_command(cmd, osp.join(run_dir, 'train.log'))
    add_wallclock(osp.join(run_dir, 'wallclock.json'), seconds)


def pretrain(names: List[str], budgets: List[str], seeds: List[int],
             cost_file: str, work_dir: str, data_root: str) -> None:
    ratios = cost_ratios(cost_file)
    for name in names:
        if CANDIDATES[name].committed:
            continue  # MAE: the study's runs
        for budget in budgets:
            iterations = budget_iterations(budget, ratios[name])
            for seed in seeds:
                train_budget_run(run_name(name, budget, seed),
                                 config_path(name), iterations, seed,
                                 work_dir, data_root)


def collapse_stats(config: str, checkpoint: str, data_root: str) -> dict:
    """The plain encoder's collapse statistics on 256 test images."""
    import torch

    from tscae_mm.evaluation import (
        build_encoder,
        encoder_spec,
        load_image_list,
        load_images,
        plain_stats,
    )
    spec = encoder_spec(config)
    encoder = build_encoder(spec, checkpoint)
    paths, _ = load_image_list(data_root,
                               osp.join(data_root, 'meta', 'test_1k.txt'))
    with torch.no_grad():
        stats = plain_stats(encoder, load_images(spec, paths[:256]))
    return {k: round(v, 4) for k, v in stats.items()}


def evaluate(names: List[str], budgets: List[str], seeds: List[int],
             cost_file: str, work_dir: str, data_root: str) -> None:
    ratios = cost_ratios(cost_file)
    for name in names:
        if CANDIDATES[name].committed:
            continue
        for budget in budgets:
            iterations = budget_iterations(budget, ratios[name])
            for seed in seeds:
                key = run_name(name, budget, seed)
                path = osp.join(work_dir, 'eval', f'{key}.json')
                run_dir = osp.join(work_dir, key)
                ckpt = osp.join(run_dir, f'iter_{iterations}.pth')
                if osp.exists(path):
                    continue
                if not osp.exists(ckpt):
                    log(f'{key}: no {ckpt} yet (pretrain stage)')
                    continue
                config = osp.join(run_dir, 'budget_config.py')
                result = frozen_eval(config, ckpt, data_root, 'train_5k',
                                     'test', True, seed)
                result.update(
                    name=name, budget=budget, seed=seed,
                    iterations=iterations, checkpoint=None,
                    collapse=collapse_stats(config, ckpt, data_root),
                    pretrain_seconds=(load_json(
                        osp.join(run_dir, 'wallclock.json')) or {}).get(
                            'seconds'))
                log(f"{key}: k-NN {result['knn_top1']:.2f}, linear probe "
                    f"{result['linear_top1']:.2f}")
                save_json(path, result)


def mean(values: List[float]) -> Optional[float]:
    return round(sum(values) / len(values), 2) if values else None


def spread(values: List[float]) -> str:
    if len(values) < 2:
        return ''
    return f' ({min(values):.2f}-{max(values):.2f})'


def collect(cost_file: str, work_dir: str, out: str,
            chosen: Optional[str] = None) -> dict:
    """The ``efficiency`` section: MAE from study.json, every candidate from
    this work dir's evaluations or the committed ones."""
    costs = load_costs(cost_file)
    ratios = {name: row['cost_ratio'] for name, row in costs.items()}
    study = load_json(osp.join(out, 'study.json')) or {}
    committed = {
        c['name']: c
        for c in study.get('efficiency', {}).get('candidates', [])
    }
    runs = study.get('runs', {})
    candidates = []
    for name, cand in CANDIDATES.items():
        if name not in ratios:
            continue
        entry = dict(
            name=name,
            label=cand.label,
            config=osp.join('projects/tscae_study/configs', cand.config),
            cost_ratio_to_mae=ratios[name],
            seconds_per_iteration=costs[name]['median_s'],
            mae_seconds_per_iteration=costs[name]['mae_median_s'],
            cost_file=costs[name]['file'],
            budgets={})
        seeds = set()
        for budget in MAE_ITERATIONS:
            results = []
            if cand.committed:
                for key, run in runs.items():
                    if parse_key(key)[0] == cand.committed[budget] and \
                            run.get('knn_top1') is not None:
                        stats = run.get('collapse_stats') or {}
                        results.append(dict(
                            seed=parse_key(key)[1],
                            knn_top1=run['knn_top1'],
                            linear_top1=run['linear_top1'],
                            collapse=stats.get(str(
                                run.get('pretrain_epochs')))))
                iterations = MAE_ITERATIONS[budget]
            else:
                iterations = budget_iterations(budget, ratios[name])
                old = committed.get(name, {}).get('budgets', {}).get(
                    budget, {}).get('runs', [])
                by_seed = {r['seed']: r for r in old}
                eval_dir = osp.join(work_dir, 'eval')
                if osp.isdir(eval_dir):
                    for file in sorted(os.listdir(eval_dir)):
                        rec = load_json(osp.join(eval_dir, file))
                        if rec and rec.get('name') == name and \
                                rec.get('budget') == budget and \
                                rec.get('iterations') == iterations:
                            by_seed[rec['seed']] = dict(
                                seed=rec['seed'],
                                knn_top1=rec['knn_top1'],
                                linear_top1=rec['linear_top1'],
                                collapse=rec.get('collapse'),
                                pretrain_seconds=rec.get('pretrain_seconds'))
                results = [by_seed[s] for s in sorted(by_seed)]
            if not results:
                continue
            seeds |= {r['seed'] for r in results}
            entry['budgets'][budget] = dict(
                iterations=iterations,
                knn_top1=mean([r['knn_top1'] for r in results]),
                linear_top1=mean([r['linear_top1'] for r in results]),
                runs=results)
        entry['seeds'] = sorted(seeds)
        candidates.append(entry)
    section = dict(
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        tier='5,000 CIFAR-10 training images (train_5k), 32 px, study '
        'encoder (192 wide, 6 layers, 4 px patches)',
        cost_benchmarks=[
            dict(file=f, command=row['command'], threads=row['threads'],
                 loadavg_before=row['loadavg_before'])
            for f, row in {c['file']: c for c in costs.values()}.items()
        ],
        budgets={b: dict(mae_iterations=i, label=BUDGET_LABELS[b])
                 for b, i in MAE_ITERATIONS.items()},
        candidates=candidates,
        chosen=chosen or study.get('efficiency', {}).get('chosen'))
    return section


COLLAPSE_COLUMNS = (('effective_rank', 'eff. rank', 1),
                    ('between_images_cos', 'cos between images', 2),
                    ('within_image_cos', 'cos within an image', 2))


def collapse_cells(budget: Optional[dict]) -> List[str]:
    """Mean collapse statistics of a budget's runs (plain encoder, 256
    test images), '-' where none were taken."""
    stats = [r['collapse'] for r in (budget or {}).get('runs', [])
             if r.get('collapse')]
    return [
        f'{sum(s[key] for s in stats) / len(stats):.{digits}f}'
        if stats else '-' for key, _, digits in COLLAPSE_COLUMNS
    ]


def table(section: dict) -> str:
    rows = [
        '| candidate | cost / MAE | s per iteration (MAE\'s in that run) | '
        'short: iterations | '
        'short: k-NN | short: linear | long: iterations | long: k-NN | '
        'long: linear | seeds | ' +
        ' | '.join(f'short: {title}' for _, title, _ in COLLAPSE_COLUMNS) +
        ' |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | '
        '---: |' + ' ---: |' * len(COLLAPSE_COLUMNS)
    ]
    for c in section['candidates']:
        cells = []
        for budget in MAE_ITERATIONS:
            b = c['budgets'].get(budget)
            if b is None:
                cells += ['-', '-', '-']
                continue
            knn = [r['knn_top1'] for r in b['runs']]
            lin = [r['linear_top1'] for r in b['runs']]
            cells += [str(b['iterations']),
                      f"{b['knn_top1']:.2f}{spread(knn)}",
                      f"{b['linear_top1']:.2f}{spread(lin)}"]
        rows.append(f"| {c['label']} | {c['cost_ratio_to_mae']:.2f} | "
                    f"{c['seconds_per_iteration']:.3f} "
                    f"({c['mae_seconds_per_iteration']:.3f}) | " +
                    ' | '.join(cells) + f" | {len(c['seeds'])} | " +
                    ' | '.join(collapse_cells(c['budgets'].get('short'))) +
                    ' |')
    return '\n'.join(rows)


EFFICIENCY_BEGIN = ('<!-- efficiency: written by tools/run_efficiency.py, '
                    'do not edit -->')
EFFICIENCY_END = '<!-- end of efficiency -->'


def report(cost_file: str, work_dir: str, out: str,
           chosen: Optional[str] = None) -> None:
    section = collect(cost_file, work_dir, out, chosen)
    study_path = osp.join(out, 'study.json')
    study = load_json(study_path) or {}
    study['efficiency'] = section
    save_json(study_path, study)
    text = table(section)
    write_between_markers(osp.join(osp.dirname(out), 'results.md'),
                          EFFICIENCY_BEGIN, EFFICIENCY_END, text)
    log(f"wrote {study_path} (efficiency) and the table:\n{text}")


STAGES = ('cost', 'pretrain', 'evaluate', 'report')


def main(argv=None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        default=list(STAGES))
    parser.add_argument('--candidates', nargs='+', choices=list(CANDIDATES),
                        default=[n for n in CANDIDATES if n != 'mae'])
    parser.add_argument('--budgets', nargs='+', choices=list(MAE_ITERATIONS),
                        default=list(MAE_ITERATIONS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[SEED])
    parser.add_argument('--data-root', default='data/cifar10')
    parser.add_argument('--work-dir', default='work_dirs/efficiency')
    parser.add_argument('--out', default='docs/results')
    parser.add_argument(
        '--cost-file', nargs='+', default=list(COST_FILES),
        help='side-by-side step times of MAE (first in each) and the '
        'candidates; the first file that times a candidate gives its cost. '
        'The cost stage writes the last one')
    parser.add_argument('--threads', type=int, default=2,
                        help='threads of the cost stage')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed rounds of the cost stage')
    parser.add_argument(
        '--choose', choices=list(CANDIDATES),
        help='report stage: record this candidate as the chosen one (the '
        'config family); kept until another is chosen')
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(['mae'] + args.candidates))
    if 'cost' in args.stages:
        from .speed.side_by_side import main as side_by_side
        side_by_side([f'{n}={config_path(n)}' for n in names] + [
            '--data-root', args.data_root, '--threads', str(args.threads),
            '--iters', str(args.iters), '--out', args.cost_file[-1]
        ])
    if 'pretrain' in args.stages:
        pretrain(names, args.budgets, args.seeds, args.cost_file,
                 args.work_dir, args.data_root)
    if 'evaluate' in args.stages:
        evaluate(names, args.budgets, args.seeds, args.cost_file,
                 args.work_dir, args.data_root)
    if 'report' in args.stages:
        report(args.cost_file, args.work_dir, args.out, args.choose)
