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


def test_stages_name_the_prepare_stage_when_lists_are_missing(tmp_path):
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'test.txt').write_text('')
    with pytest.raises(FileNotFoundError,
                       match='lacks pretrain_50k.txt, train_50k.txt.*'
                       'run_deciding.py --stages prepare'):
        deciding.main(['--stages', 'evaluate', '--methods', '--data-root',
                       str(tmp_path), '--work-dir', str(tmp_path / 'w')])
    assert not (tmp_path / 'w').exists()


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


def test_noise_runs_degrade_every_pre_training_image(tmp_path):
    """Every method's noise runs put the study's degradation right after
    loading, before any crop or mask."""
    from tscae_study.efficiency import budget_config
    for method, spec in deciding.METHODS.items():
        base = REPO_ROOT / 'projects' / 'tscae_study' / 'configs' / \
            spec.config
        clean = Config.fromfile(str(base)).train_dataloader.dataset.dataset
        path = tmp_path / f'{method}.py'
        path.write_text(budget_config(
            str(base), 60, '/data/c10', 'meta/pretrain_50k.txt',
            degradation=deciding.NOISE[:2]))
        inner = Config.fromfile(str(path)).train_dataloader.dataset.dataset
        assert inner.pipeline[1] == dict(type='ImageDegradation',
                                         kind='noise', severity=5), method
        assert inner.pipeline[:1] + inner.pipeline[2:] == clean.pipeline
        assert inner.ann_file == 'meta/pretrain_50k.txt'
    assert deciding.run_name('mae', 60, 1, 'noise') == 'mae_60min_noise-seed1'
    assert deciding.run_name('mae', 60, 0) == 'mae_60min'
    with pytest.raises(ValueError, match='images is one of'):
        deciding.run_name('mae', 60, 0, 'blur')


def write_eval(eval_dir, key, method, seed, knn, linear, curve,
               minutes=20, images='clean'):
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / f'{key}.json').write_text(json.dumps(dict(
        method=method, label=deciding.METHODS[method].label,
        budget_minutes=minutes, seed=seed, iterations=100,
        images_kind=images, knn_top1=knn, linear_top1=linear,
        finetune_top1=None, pretrain_seconds=1.)))
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
    deciding.finetune(['mae'], [20], [0], ['clean'], COST, str(tmp_path),
                      '/data', with_random_init=False)
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


def write_part(eval_dir, key, part, method, seed, minutes, images='clean',
               **values):
    (eval_dir / f'{key}_{part}.json').write_text(json.dumps(dict(
        method=method, seed=seed, budget_minutes=minutes,
        images_kind=images, **values)))


def largest_budget_runs(eval_dir, efficient_linear, efficient_ft):
    """MAE and the goal method at the largest budget, 2 seeds each, clean
    and noisy images; the goal method's clean linear probe and fine-tuning
    per seed as given."""
    minutes = max(deciding.BUDGETS_MINUTES)
    figures = {  # (method, images): per seed (k-NN, linear, fine-tune)
        ('mae', 'clean'): [(30., 50., 60.), (31., 51., 61.)],
        ('mae', 'noise'): [(26., 46., 55.), (27., 47., 56.)],
        ('tscae_efficient', 'clean'): [
            (40., efficient_linear[0], efficient_ft[0]),
            (41., efficient_linear[1], efficient_ft[1])],
        ('tscae_efficient', 'noise'): [(39., 50., 60.), (40., 51., 61.)],
    }
    for (method, images), seeds in figures.items():
        for seed, (knn, linear, ft) in enumerate(seeds):
            key = deciding.run_name(method, minutes, seed, images)
            write_eval(eval_dir, key, method, seed, knn, linear, [],
                       minutes, images)
            write_part(eval_dir, key, 'finetune', method, seed, minutes,
                       images, finetune_top1=ft, curve={'20': ft})
    return minutes


def test_report_judges_the_goal_and_the_noise_drops(tmp_path):
    work, out = tmp_path / 'work', tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    (tmp_path / 'docs' / 'results.md').write_text(
        f'{deciding.DECIDING_BEGIN}\n{deciding.DECIDING_END}\n')
    minutes = largest_budget_runs(work / 'eval', (53., 54.), (63., 64.))
    deciding.report(str(work), str(out))
    section = json.loads((out / 'study.json').read_text())['deciding']
    assert {(r['method'], r['images_kind']) for r in section['runs']} == {
        (m, i) for m in ('mae', 'tscae_efficient')
        for i in ('clean', 'noise')}
    lines = section['verdicts']
    assert f'{minutes} min, linear probe: 53.50 vs 50.50 (+3.00; TSCAE ' \
        'efficient higher, outside the spread)' in lines
    assert any(line.startswith('goal (') and ': met (linear probe +3.00, '
               'fine-tune +3.00)' in line for line in lines)
    # MAE loses 4 k-NN points under noise, the efficient TSCAE 1
    noise = [line for line in lines if 'change under Gaussian noise' in line]
    assert f'{minutes} min, change under Gaussian noise, std 48 grey ' \
        'levels, k-NN: TSCAE efficient -1.00, MAE -4.00 (TSCAE efficient ' \
        'loses less, outside the spread)' in noise
    doc = (tmp_path / 'docs' / 'results.md').read_text()
    assert 'Pre-training on noisy images' in doc
    assert '| MAE | Gaussian noise, std 48 grey levels, 60 min | -4.00 ' \
        '(1.00 / 1.00) |' in doc


@pytest.mark.parametrize('linear, ft, why', [
    ((51., 52.), (63., 64.), 'inside'),  # linear ranges overlap MAE's
    ((45., 46.), (63., 64.), 'below'),
])
def test_the_goal_is_not_met_inside_the_spread_or_below(tmp_path, linear, ft,
                                                        why):
    work, out = tmp_path / 'work', tmp_path / 'out'
    out.mkdir()
    largest_budget_runs(work / 'eval', linear, ft)
    lines = deciding.collect(str(work), str(out))['verdicts']
    goal = [line for line in lines if line.startswith('goal (')]
    assert len(goal) == 1 and ': not met (' in goal[0], why


def test_the_goal_waits_for_its_figures(tmp_path):
    (tmp_path / 'out').mkdir()
    write_eval(tmp_path / 'eval', 'mae_60min', 'mae', 0, 30., 40., [], 60)
    lines = deciding.collect(str(tmp_path), str(tmp_path / 'out'))[
        'verdicts']
    assert lines == [
        'goal (TSCAE efficient above MAE at 60 min on linear probe and '
        'fine-tune, by more than the spread): not measured yet (linear '
        'probe missing)']


def test_report_keeps_committed_figures_a_fresh_work_dir_lacks(tmp_path):
    """A later session's probe of the random init (on a fresh machine,
    without the fine-tuning's work dir) adds its figures and keeps the
    committed fine-tuning."""
    work, out = tmp_path / 'work', tmp_path / 'out'
    out.mkdir()
    (out / 'study.json').write_text(json.dumps(dict(deciding=dict(runs=[
        dict(method='random_init', label='random init', budget_minutes=0,
             seed=0, iterations=0, images_kind='clean', knn_top1=None,
             linear_top1=None, finetune_top1=55.34, curve=[])]))))
    (work / 'eval').mkdir(parents=True)
    write_part(work / 'eval', 'random_init', 'probe', 'random_init', 0, 0,
               probe_map=20.5, dense_probe_miou=8.25)
    deciding.report(str(work), str(out))
    (run, ) = json.loads((out / 'study.json').read_text())['deciding'][
        'runs']
    assert (run['finetune_top1'], run['probe_map'],
            run['dense_probe_miou']) == (55.34, 20.5, 8.25)
    assert '| random init | - | 20.50 | 8.25 | 1 |' in deciding.probe_table(
        json.loads((out / 'study.json').read_text())['deciding'])


def test_probe_stage_probes_the_random_init_on_a_written_devkit(
        tmp_path, monkeypatch):
    """The probe stage writes the transfer devkit from the CIFAR-10 test
    folder (here generated, with a smaller devkit) and records both probes;
    a run that is not pre-trained yet is left for later."""
    import numpy as np
    from PIL import Image

    from tscae_study import transfer
    monkeypatch.setattr(transfer, 'DATA', dict(transfer.DATA, trainval=20,
                                               test=10))
    rng = np.random.default_rng(0)
    for c, cls in enumerate(CLASSES):
        folder = tmp_path / 'c10' / 'test' / cls
        folder.mkdir(parents=True)
        for i in range(150):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            pixels[..., c % 3] = 40 + 20 * c
            Image.fromarray(pixels).save(folder / f'{i:04d}.jpg')
    devkit = tmp_path / 'VOCdevkit'
    deciding.probe(['mae'], [20], [0], ['clean'], COST, str(tmp_path / 'w'),
                   str(tmp_path / 'c10'), str(devkit))
    assert (devkit / 'VOC2012' / 'ImageSets' / 'Segmentation' /
            'val.txt').exists()
    (path, ) = (tmp_path / 'w' / 'eval').iterdir()
    assert path.name == 'random_init_probe.json'
    result = json.loads(path.read_text())
    assert result['method'] == 'random_init' and result['checkpoint'] is None
    assert 0 < result['probe_map'] <= 100 and \
        0 < result['chance_map'] < 100
    assert 0 < result['dense_probe_miou'] <= 100
