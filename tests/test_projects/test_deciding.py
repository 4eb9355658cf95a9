"""The deciding tier's harness (tools/run_deciding.py): image lists, budgets
in same-condition minutes, the budget configs and the report's record."""
import json

import pytest
from mmengine.config import Config

from tscae_study import deciding
from tscae_study.runs import CLASSES

from conftest import REPO_ROOT

COST = REPO_ROOT / 'docs' / 'speed' / 'side_by_side_study_t2.json'


def test_prepare_lists_every_training_image(tmp_path):
    for label, cls in enumerate(CLASSES):
        folder = tmp_path / 'train' / cls
        folder.mkdir(parents=True)
        for i in range(label % 3 + 1):
            (folder / f'{i:04d}.jpg').write_bytes(b'')
    deciding.prepare(str(tmp_path))
    unlabelled = (tmp_path / 'meta' / 'pretrain_50k.txt').read_text().split()
    labelled = (tmp_path / 'meta' / 'train_50k.txt').read_text().splitlines()
    assert len(unlabelled) == len(labelled) == sum(
        label % 3 + 1 for label in range(len(CLASSES)))
    assert labelled[-1] == f'train/truck/{CLASSES.index("truck") % 3:04d}' \
        '.jpg 9'


def test_prepare_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare stage'):
        deciding.prepare(str(tmp_path))


def test_budgets_are_equal_minutes_of_each_methods_step():
    step = deciding.seconds_per_step(str(COST))
    for method in deciding.METHODS:
        iterations = deciding.budget_iterations(method, 20, str(COST))
        seconds = iterations * step[deciding.cost_name(method)]
        assert abs(seconds - 1200) <= step[deciding.cost_name(method)]
    # MAE's step is the cheapest: it gets the most iterations
    assert deciding.budget_iterations('mae', 20, str(COST)) > \
        deciding.budget_iterations('tscae_recommended', 20, str(COST))


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
