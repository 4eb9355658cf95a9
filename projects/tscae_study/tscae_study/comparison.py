"""Seeded comparison of pre-training methods: mean and spread per setting,
verdicts that say whether a difference is outside the seeds' spread, and the
Markdown tables of docs/results.md.

Pure functions over the study's per-run entries (``docs/results/study.json``
``runs``: one entry per run and seed, each with ``seed``, ``knn_top1``,
``linear_top1``, ``finetune_top1``, ``pretrain_seconds``); no training, no
torch.

The spread of a metric is its range over the seeds (max - min; 0 for one
seed). Two settings differ by more than the spread when their [min, max]
intervals do not overlap; otherwise the difference of the means is reported
as inside the spread.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

METRICS: Tuple[Tuple[str, str], ...] = (('knn_top1', 'k-NN'),
                                        ('linear_top1', 'linear probe'),
                                        ('finetune_top1', 'fine-tune'))


class Setting(NamedTuple):
    """One compared setting: a run of the study (every seed of it).

    Args:
        run: The run's name (its seed-0 key); ``random_init`` for the floor.
        recommended: The recommended TSCAE on clean images (one setting).
        equal_time: MAE trained for the recommended TSCAE's wall-clock.
    """
    run: str
    recommended: bool = False
    equal_time: bool = False


def seed_of(key: str) -> Tuple[str, int]:
    """``(run, seed)`` of a result key: ``run`` for seed 0, ``run-seed<s>``
    otherwise."""
    run, sep, seed = key.rpartition('-seed')
    if sep and seed.isdigit():
        return run, int(seed)
    return key, 0


def summarise(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Mean, spread (max - min), min and max of ``values``; all None when
    there is no value."""
    if not values:
        return dict(mean=None, spread=None, min=None, max=None)
    low, high = min(values), max(values)
    return dict(
        mean=sum(values) / len(values), spread=high - low, min=low, max=high)


def build_comparison(entries: Dict[str, dict],
                     settings: Sequence[Setting]) -> List[dict]:
    """One record per setting that has at least one run in ``entries``.

    Each record holds ``label``, ``method``, ``images``, ``seeds`` (sorted),
    ``recommended``, ``equal_time``, ``pretrain_epochs``, for every metric
    ``<metric>_mean``, ``<metric>_spread``, ``<metric>_min``,
    ``<metric>_max``, ``<metric>_values`` (per seed, in ``seeds`` order;
    None where a seed has no value) and ``<metric>_n`` (seeds with a value),
    and ``pretrain_minutes_mean``.
    """
    by_run: Dict[str, Dict[int, dict]] = {}
    for key, entry in entries.items():
        run, seed = seed_of(key)
        if entry.get('seed', seed) != seed:
            raise ValueError(f'study entry {key!r} says seed '
                             f"{entry.get('seed')}, its key says {seed}")
        by_run.setdefault(run, {})[seed] = entry
    records = []
    for setting in settings:
        runs = by_run.get(setting.run)
        if not runs:
            continue
        seeds = sorted(runs)
        first = runs[seeds[0]]
        record = dict(
            setting=setting.run,
            label=first.get('label'),
            method=first.get('method'),
            images=first.get('images'),
            seeds=seeds,
            recommended=setting.recommended,
            equal_time=setting.equal_time,
            pretrain_epochs=first.get('pretrain_epochs'))
        for metric, _ in METRICS:
            values = [runs[s].get(metric) for s in seeds]
            stats = summarise([v for v in values if v is not None])
            for name, value in stats.items():
                record[f'{metric}_{name}'] = value
            record[f'{metric}_values'] = values
            record[f'{metric}_n'] = sum(v is not None for v in values)
        minutes = [
            runs[s]['pretrain_seconds'] / 60 for s in seeds
            if runs[s].get('pretrain_seconds') is not None
        ]
        record['pretrain_minutes_mean'] = summarise(minutes)['mean']
        record['pretrain_minutes_values'] = [
            None if runs[s].get('pretrain_seconds') is None else
            runs[s]['pretrain_seconds'] / 60 for s in seeds
        ]
        records.append(record)
    if sum(r['recommended'] for r in records) > 1:
        raise ValueError('more than one recommended setting')
    return records


def compare(a: dict, b: dict, metric: str) -> Optional[dict]:
    """Difference of two comparison records on ``metric`` (a - b), and
    whether it is outside the spread (the seeds' ranges do not overlap).
    None when either has no value."""
    if a.get(f'{metric}_mean') is None or b.get(f'{metric}_mean') is None:
        return None
    outside = (a[f'{metric}_min'] > b[f'{metric}_max']
               or b[f'{metric}_min'] > a[f'{metric}_max'])
    return dict(
        difference=a[f'{metric}_mean'] - b[f'{metric}_mean'],
        outside_spread=outside,
        seeds=(a[f'{metric}_n'], b[f'{metric}_n']))


def verdict(a: dict, b: dict, metric: str, label: str) -> str:
    """One line: which of ``a`` and ``b`` is higher on ``metric`` and
    whether the difference is outside the spread."""
    result = compare(a, b, metric)
    if result is None:
        return f'{label}: not measured for both'
    diff = result['difference']
    if min(result['seeds']) < 2:
        where = 'one seed on one side: no spread to judge it by'
    elif result['outside_spread']:
        where = 'outside the spread'
    else:
        where = 'inside the spread'
    leader = a['label'] if diff > 0 else b['label']
    return (f"{label}: {a[f'{metric}_mean']:.2f} vs "
            f"{b[f'{metric}_mean']:.2f} ({diff:+.2f}; "
            f"{leader if diff else 'neither'} higher, {where})")


def degradation_drops(records: Sequence[dict]) -> List[dict]:
    """For each method with clean and degraded settings: the drop (degraded
    minus clean) per metric, with each side's spread."""
    clean = {(r['method'], r['pretrain_epochs']): r for r in records
             if r['images'] == 'clean' and not r['equal_time']}
    drops = []
    for r in records:
        if r['images'] in ('clean', '-'):
            continue
        base = clean.get((r['method'], r['pretrain_epochs']))
        if base is None:
            continue
        row = dict(method=r['method'], label=r['label'], images=r['images'],
                   clean_setting=base['setting'], setting=r['setting'])
        for metric, _ in METRICS:
            result = compare(r, base, metric)
            row[f'{metric}_change'] = None if result is None else \
                result['difference']
            # every per-seed difference lies in [min d - max c, max d - min c]
            row[f'{metric}_change_min'] = None if result is None else \
                r[f'{metric}_min'] - base[f'{metric}_max']
            row[f'{metric}_change_max'] = None if result is None else \
                r[f'{metric}_max'] - base[f'{metric}_min']
            row[f'{metric}_clean_spread'] = base[f'{metric}_spread']
            row[f'{metric}_degraded_spread'] = r[f'{metric}_spread']
            row[f'{metric}_seeds'] = (base[f'{metric}_n'], r[f'{metric}_n'])
        drops.append(row)
    return drops


def drop_verdict(a: dict, b: dict, metric: str, label: str) -> str:
    """Which of two methods' drops (rows of :func:`degradation_drops`) is
    smaller on ``metric``, and whether the ranges of their per-seed
    differences overlap."""
    if a.get(f'{metric}_change') is None or b.get(
            f'{metric}_change') is None:
        return f'{label}: not measured for both'
    ca, cb = a[f'{metric}_change'], b[f'{metric}_change']
    if min(a[f'{metric}_seeds'] + b[f'{metric}_seeds']) < 2:
        where = 'one seed somewhere: no spread to judge it by'
    elif (a[f'{metric}_change_min'] > b[f'{metric}_change_max']
          or b[f'{metric}_change_min'] > a[f'{metric}_change_max']):
        where = 'outside the spread'
    else:
        where = 'inside the spread'
    smaller = a['label'] if ca > cb else b['label']
    return (f'{label}: {a["label"]} {ca:+.2f}, {b["label"]} {cb:+.2f} '
            f'({smaller if ca != cb else "neither"} loses less, {where})')


def _cell(record: dict, metric: str) -> str:
    mean = record.get(f'{metric}_mean')
    if mean is None:
        return '-'
    if record[f'{metric}_n'] < 2:
        return f'{mean:.2f} (1 seed)'
    return (f"{mean:.2f} ({record[f'{metric}_min']:.2f}-"
            f"{record[f'{metric}_max']:.2f})")


def comparison_table(records: Sequence[dict]) -> str:
    """Markdown: one row per setting, mean (min-max over the seeds)."""
    rows = [
        '| setting | pre-training images | epochs | seeds | ' +
        ' | '.join(f'{name} top-1' for _, name in METRICS) +
        ' | pre-training minutes (mean) |',
        '| --- | --- | ---: | --- |' + ' ---: |' * (len(METRICS) + 1)
    ]
    for r in records:
        label = r['label'] + (' **(recommended)**' if r['recommended'] else
                              '') + (' (equal time)' if r['equal_time'] else
                                     '')
        minutes = r.get('pretrain_minutes_mean')
        rows.append(
            f"| {label} | {r['images']} | {r['pretrain_epochs'] or '-'} | "
            f"{', '.join(map(str, r['seeds']))} | " +
            ' | '.join(_cell(r, m) for m, _ in METRICS) +
            f" | {'-' if minutes is None else f'{minutes:.1f}'} |")
    return '\n'.join(rows)


def drop_table(drops: Sequence[dict], describe: Dict[str, str]) -> str:
    """Markdown: each method's change from clean to degraded images."""
    rows = [
        '| method | degradation | ' + ' | '.join(
            f'{name}: change (spread clean / degraded)'
            for _, name in METRICS) + ' |',
        '| --- | --- |' + ' ---: |' * len(METRICS)
    ]
    for d in drops:
        cells = []
        for metric, _ in METRICS:
            change = d[f'{metric}_change']
            if change is None:
                cells.append('-')
                continue
            cells.append(f'{change:+.2f} ({d[f"{metric}_clean_spread"]:.2f} '
                         f'/ {d[f"{metric}_degraded_spread"]:.2f})' +
                         (' (1 seed)' if min(d[f'{metric}_seeds']) < 2 else
                          ''))
        images = describe.get(d['images'], d['images'])
        rows.append(f"| {d['label']} | {images} | " + ' | '.join(cells) +
                    ' |')
    return '\n'.join(rows)
