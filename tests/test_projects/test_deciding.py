"""The deciding tier's harness (tools/run_deciding.py): image lists, budgets
in same-condition minutes, the budget configs and the report's record."""
import json

import pytest
from mmengine.config import Config

from tscae_study import deciding
from tscae_study.runs import CLASSES

from conftest import REPO_ROOT

COST = [str(REPO_ROOT / f) for f in deciding.COST_FILES]


def test_prepare_lists_every_training_image(tmp_path):
    for label, cls in enumerate(CLASSES):
        folder = tmp_path / 'train' / cls
        folder.mkdir(parents=True)
        for i in range(label % 3 + 1):
            (folder / f'{i:04d}.jpg').write_bytes(b'')
    (tmp_path / 'train' / 'cat' / 'extra.jpg').write_bytes(b'')
    deciding.prepare(str(tmp_path))
    unlabelled = (tmp_path / 'meta' / 'pretrain_50k.txt').read_text().split()
    labelled = (tmp_path / 'meta' / 'train_50k.txt').read_text().splitlines()
    assert len(unlabelled) == len(labelled) == 1 + sum(
        label % 3 + 1 for label in range(len(CLASSES)))
    # the fine-tuning set: up to 1,000 per class, all of them here
    finetune = (tmp_path / 'meta' / 'train_10k.txt').read_text().splitlines()
    assert sorted(finetune) == sorted(labelled)
    assert labelled[-1] == f'train/truck/{CLASSES.index("truck") % 3:04d}' \
        '.jpg 9'


def test_prepare_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare stage'):
        deciding.prepare(str(tmp_path))


def test_budgets_are_equal_minutes_of_each_methods_step():
    step = deciding.seconds_per_step(COST)
    for method in deciding.METHODS:
        iterations = deciding.budget_iterations(method, 20, COST)
        assert abs(iterations * step[method] - 1200) <= step[method]
    # MAE's step is the cheapest: it gets the most iterations
    assert deciding.budget_iterations('mae', 20, COST) > \
        deciding.budget_iterations('tscae_recommended', 20, COST)
    # one reference step (MAE's in the first file) times each ratio, so
    # ratios measured on another machine do not mix its speed in
    costs = deciding.load_costs(COST)
    assert step['mae'] == costs['mae']['median_s']
    assert step['tscae_efficient'] == pytest.approx(
        costs['mae']['median_s'] *
        costs['sibling_views_4_vicreg_infonce_image']['cost_ratio'])


def test_every_method_is_a_screened_candidate_with_its_config():
    from tscae_study import efficiency
    for method, spec in deciding.METHODS.items():
        candidate = efficiency.CANDIDATES[deciding.cost_name(method)]
        assert candidate.config == spec.config, method


def test_budget_config_trains_on_the_50k_list(tmp_path):
    from tscae_study.efficiency import budget_config
    base = REPO_ROOT / 'projects' / 'tscae_study' / 'configs' / \
        deciding.METHODS['mae'].config
    path = tmp_path / 'budget.py'
    path.write_text(
        budget_config(str(base), 2000, '/data/c10', 'meta/pretrain_50k.txt',
                      checkpoints=10, keep=-1))
    cfg = Config.fromfile(str(path))
    inner = cfg.train_dataloader.dataset.dataset
    assert (inner.data_root, inner.ann_file) == ('/data/c10',
                                                 'meta/pretrain_50k.txt')
    assert cfg.default_hooks.checkpoint.interval == 200
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == -1


def write_eval(eval_dir, key, method, seed, knn, linear, curve):
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / f'{key}.json').write_text(json.dumps(dict(
        method=method, label=deciding.METHODS[method].label,
        budget_minutes=20, seed=seed, iterations=100, images_kind='clean',
        knn_top1=knn, linear_top1=linear, finetune_top1=None,
        pretrain_seconds=1.)))
    (eval_dir / f'{key}_curve.json').write_text(json.dumps({
        str(i): dict(minutes=m, knn_top1=k)
        for i, (m, k) in enumerate(curve)}))


def test_report_records_the_runs_plots_and_writes_the_table(tmp_path):
    work, out = tmp_path / 'work', tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    (out / 'study.json').write_text(json.dumps(dict(runs={'mae': {}})))
    (tmp_path / 'docs' / 'results.md').write_text(
        f'a\n{deciding.DECIDING_BEGIN}\nold\n{deciding.DECIDING_END}\nb\n')
    write_eval(work / 'eval', 'mae_20min', 'mae', 0, 30., 40.,
               [(0, 20.), (10, 30.), (20, 31.)])
    write_eval(work / 'eval', 'mae_20min-seed1', 'mae', 1, 32., 42.,
               [(0, 21.), (10, 29.), (20, 33.)])
    deciding.report(str(work), str(out))
    study = json.loads((out / 'study.json').read_text())
    assert study['runs'] == {'mae': {}}  # the study's own section is kept
    section = study['deciding']
    assert section['images'] == 50000
    assert section['budgets_minutes'] == list(deciding.BUDGETS_MINUTES)
    assert [r['seed'] for r in section['runs']] == [0, 1]
    assert set(section['runs'][0]) >= {
        'method', 'label', 'budget_minutes', 'seed', 'iterations',
        'images_kind', 'knn_top1', 'linear_top1', 'finetune_top1'}
    assert (out / 'deciding_curves.png').stat().st_size > 1000
    doc = (tmp_path / 'docs' / 'results.md').read_text()
    assert '| MAE | 20 min | 100 | 31.00 (30.00-32.00) | 41.00 (40.00-42.00)' \
        ' | pending | 2 |' in doc
    assert 'old' not in doc and doc.endswith('b\n')


def test_finetune_curve_reads_every_validation_of_every_segment(tmp_path):
    for stamp, records in (('20260101_000000', [dict(loss=2., step=10),
                                               {'accuracy/top1': 30.,
                                                'step': 2}]),
                           ('20260101_010000', [{'accuracy/top1': 35.,
                                                 'step': 4}])):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text(
            '\n'.join(json.dumps(r) for r in records) + '\n')
    assert deciding.finetune_curve(str(tmp_path)) == {'2': 30., '4': 35.}


def test_finetune_skips_runs_not_pretrained_yet(tmp_path, capsys):
    deciding.finetune(['mae'], [20], [0], COST, str(tmp_path), '/data',
                      with_random_init=False)
    assert 'mae_20min: no ' in capsys.readouterr().out
    assert not (tmp_path / 'eval').exists()


def test_report_adds_finetuning_and_the_random_init(tmp_path):
    work, out = tmp_path / 'work', tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    (tmp_path / 'docs' / 'results.md').write_text(
        f'{deciding.DECIDING_BEGIN}\n{deciding.DECIDING_END}\n')
    write_eval(work / 'eval', 'mae_20min', 'mae', 0, 30., 40.,
               [(0, 20.), (20, 31.)])
    for key, method, top1 in (('mae_20min', 'mae', 50.),
                              ('random_init', 'random_init', 41.),
                              ('random_init-seed1', 'random_init', 43.)):
        (work / 'eval' / f'{key}_finetune.json').write_text(json.dumps(dict(
            method=method, seed=1 if key.endswith('seed1') else 0,
            budget_minutes=20 if method == 'mae' else 0,
            finetune_top1=top1, curve={'2': top1 - 5, '10': top1})))
    deciding.report(str(work), str(out))
    section = json.loads((out / 'study.json').read_text())['deciding']
    runs = {(r['method'], r['seed']): r for r in section['runs']}
    assert runs[('mae', 0)]['finetune_top1'] == 50.
    assert runs[('random_init', 1)]['finetune_curve'] == {'2': 38.,
                                                          '10': 43.}
    assert section['finetune']['images'] == 10000
    doc = (tmp_path / 'docs' / 'results.md').read_text()
    assert '| random init | - | - | - | - | 42.00 (41.00-43.00) | 2 |' in doc
    assert '| MAE | 20 min | 100 | 30.00 | 40.00 | 50.00 | 1 |' in doc
