"""The study's report: study.json, the tables of docs/results.md and
configs/tscae/README.md, the verdicts and the plots."""
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np

from .comparison import (
    METRICS,
    build_comparison,
    comparison_table,
    degradation_drops,
    drop_table,
    drop_verdict,
    verdict,
)
from .runs import (
    CLASSES,
    COMMANDS,
    COMPARISON,
    DEGRADATIONS,
    FINETUNE_CONFIG,
    MAX_EPOCHS,
    PRETRAIN_PER_CLASS,
    RANDOM_INIT,
    RESULTS_BEGIN,
    RESULTS_END,
    RUNS,
    SCREENING_EPOCHS,
    SEED,
    TABLES_BEGIN,
    TABLES_END,
    config_label,
    parse_key,
)
from .stages import load_json, log, save_json, scalar_records, with_random_init

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
    """One line per claim and metric (:func:`.comparison.verdict`),
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
            config=None if run is None else config_label(run.config),
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
            finetune_config=config_label(FINETUNE_CONFIG),
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
    # sections other stages write (efficiency, deciding) are kept
    for key, value in (load_json(osp.join(out, 'study.json')) or {}).items():
        study.setdefault(key, value)
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


