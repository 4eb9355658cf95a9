"""Issue 22's screening harness (tools/run_efficiency.py): budgets at equal
wall-clock, the budget configs it writes, the side-by-side cost benchmark."""
import json

import pytest
from mmengine.config import Config

from tscae_study import efficiency
from tscae_study.speed import side_by_side

from conftest import REPO_ROOT

DEMO_DATA = REPO_ROOT / 'demo' / 'cifar10-mini'


def test_every_candidate_config_exists_and_mae_is_the_reference():
    assert next(iter(efficiency.CANDIDATES)) == 'mae'
    for name in efficiency.CANDIDATES:
        assert Config.fromfile(efficiency.config_path(name)).model


def test_budget_iterations_give_equal_wall_clock():
    # a candidate twice MAE's cost per step gets half its iterations
    assert efficiency.budget_iterations('short', 2.0) == 237
    assert efficiency.budget_iterations('long', 1.0) == 1738
    assert efficiency.budget_iterations('short', 1.09) == round(474 / 1.09)


def test_budget_config_is_a_complete_iteration_schedule(tmp_path):
    base = efficiency.config_path('sibling_views_4')
    path = tmp_path / 'budget.py'
    path.write_text(efficiency.budget_config(base, 120, '/data/cifar'))
    cfg = Config.fromfile(str(path))
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=120)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end, warmup.by_epoch) == (0, 20, False)
    assert (cosine.begin, cosine.end, cosine.T_max) == (20, 120, 100)
    assert cfg.default_hooks.checkpoint.interval == 30
    assert cfg.train_dataloader.dataset.dataset.data_root == '/data/cifar'
    # the candidate itself is untouched
    base_cfg = Config.fromfile(base)
    assert cfg.model == base_cfg.model
    assert cfg.train_dataloader.batch_size == base_cfg.train_dataloader.\
        batch_size


def test_cost_ratios_need_mae_first(tmp_path):
    path = tmp_path / 'cost.json'
    path.write_text(json.dumps(dict(configs={'x': dict(cost_ratio=1.)})))
    with pytest.raises(ValueError, match="must be 'mae'"):
        efficiency.cost_ratios(str(path))
    with pytest.raises(FileNotFoundError, match='cost stage'):
        efficiency.cost_ratios(str(tmp_path / 'missing.json'))


def test_committed_cost_files_cover_every_candidate():
    files = [str(REPO_ROOT / f) for f in efficiency.COST_FILES]
    ratios = efficiency.cost_ratios(files)
    assert set(ratios) == set(efficiency.CANDIDATES)
    assert ratios['mae'] == 1.0


def test_first_cost_file_that_times_a_candidate_wins(tmp_path):
    first, second = tmp_path / 'a.json', tmp_path / 'b.json'
    first.write_text(json.dumps(dict(configs=dict(
        mae=dict(cost_ratio=1., median_s=0.5),
        x=dict(cost_ratio=1.2, median_s=0.6)))))
    second.write_text(json.dumps(dict(configs=dict(
        mae=dict(cost_ratio=1., median_s=0.7),
        x=dict(cost_ratio=1.5, median_s=1.05),
        y=dict(cost_ratio=2., median_s=1.4)))))
    costs = efficiency.load_costs([str(first), str(second)])
    assert costs['x']['cost_ratio'] == 1.2 and costs['x']['file'] == str(
        first)
    assert costs['y']['cost_ratio'] == 2. and costs['y']['file'] == str(
        second)
    assert costs['mae']['median_s'] == 0.5


@pytest.mark.slow
def test_side_by_side_times_every_config_on_real_images(tmp_path):
    # two tiny configs of the study model on the demo's images
    mae = efficiency.config_path('mae')
    sibling = efficiency.config_path('sibling_views_4')
    out = tmp_path / 'speed.json'
    result = side_by_side.main([
        f'mae={mae}', f'sib={sibling}', '--data-root',
        str(DEMO_DATA), '--threads', '1', '--iters', '2', '--warmup', '1',
        '--batches', '1', '--cfg-options', 'train_dataloader.batch_size=4',
        'train_dataloader.dataset.dataset.ann_file=', '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == result
    rows = result['configs']
    assert list(rows) == ['mae', 'sib']
    assert rows['mae']['cost_ratio'] == 1.0
    assert rows['sib']['batch_size'] == 4 and rows['sib']['median_s'] > 0


def test_report_merges_mae_study_runs_and_fresh_evaluations(tmp_path):
    cost = REPO_ROOT / 'docs' / 'speed' / 'side_by_side_study_t2.json'
    out = tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    stats = dict(between_images_cos=0.9, within_image_cos=0.8,
                 effective_rank=40.)
    mae = dict(knn_top1=33., linear_top1=48., pretrain_epochs=6,
               collapse_stats={'6': stats})
    (out / 'study.json').write_text(json.dumps(dict(runs={
        'mae': mae, 'mae-seed1': dict(mae, knn_top1=35.)})))
    (tmp_path / 'docs' / 'results.md').write_text(
        f'{efficiency.EFFICIENCY_BEGIN}\nold\n{efficiency.EFFICIENCY_END}\n')
    eval_dir = tmp_path / 'work' / 'eval'
    eval_dir.mkdir(parents=True)
    iterations = efficiency.budget_iterations(
        'short', efficiency.cost_ratios(str(cost))['sibling_views_4'])
    (eval_dir / 'sibling_views_4_short.json').write_text(json.dumps(dict(
        name='sibling_views_4', budget='short', seed=0,
        iterations=iterations, knn_top1=30., linear_top1=45.,
        collapse=dict(stats, effective_rank=20.))))
    efficiency.report(str(cost), str(tmp_path / 'work'), str(out),
                      chosen='sibling_views_4')
    section = json.loads((out / 'study.json').read_text())['efficiency']
    assert section['chosen'] == 'sibling_views_4'
    rows = {c['name']: c for c in section['candidates']}
    assert rows['mae']['budgets']['short']['knn_top1'] == 34.
    assert rows['mae']['seeds'] == [0, 1]
    sibling = rows['sibling_views_4']
    assert sibling['budgets']['short']['iterations'] == iterations
    assert 'long' not in sibling['budgets']
    doc = (tmp_path / 'docs' / 'results.md').read_text()
    assert '| MAE | 1.00 | 0.540 (0.540) | 474 | 34.00 (33.00-35.00) |' in doc
    assert f'| {iterations} | 30.00 | 45.00 | - | - | - | 1 | 20.0 | 0.90 ' \
        '| 0.80 |' in doc
    assert 'old' not in doc
