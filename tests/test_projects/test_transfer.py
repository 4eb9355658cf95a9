"""tscae_study.transfer (tools/run_transfer.py): which encoder each
fine-tuning reads, how a finished run's metric is read and recorded, and the
report (transfer.json, the tables and verdicts of docs/results.md). The
training itself is the benchmark configs' (test_downstream_configs.py)."""
import copy
import functools
import json
import os.path as osp

import pytest
from mmengine.config import Config

from tscae_study import transfer

from conftest import REPO_ROOT


@pytest.fixture(autouse=True)
def at_the_repository_root(monkeypatch):
    """The transfer runner reads the task configs and the devkit relative to
    the current directory, as its command line runs from the repository
    root."""
    monkeypatch.chdir(REPO_ROOT)


def test_every_task_config_exists_and_reads_the_benchmark_devkit():
    for task in transfer.TASKS.values():
        cfg = Config.fromfile(str(REPO_ROOT / task.config))
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            text = json.dumps(cfg[loader].to_dict(), default=repr)
            assert transfer.DATA_ROOT in text
            assert 'data/VOCdevkit' not in text.replace(
                transfer.DATA_ROOT, '')
        assert cfg.model.backbone.init_cfg.prefix == 'backbone.'


@pytest.mark.parametrize('task', sorted(transfer.TASKS))
def test_options_give_the_encoder_and_seed(task, tmp_path):
    cfg = Config.fromfile(str(REPO_ROOT / transfer.TASKS[task].config))
    random_cfg = cfg.copy()
    random_cfg.merge_from_dict(dict(
        option.split('=', 1) for option in transfer.finetune_options(
            'random_init', 1, str(tmp_path))))
    assert random_cfg.model.backbone.init_cfg in (None, 'None')

    options = transfer.finetune_options('tscae_recommended', 1,
                                        str(tmp_path))
    assert options == [
        'model.backbone.init_cfg.checkpoint=' +
        str(tmp_path / 'tscae_recommended-seed1' / 'epoch_6.pth'),
        'randomness.seed=1'
    ]
    cfg.merge_from_dict(dict(option.split('=', 1) for option in options))
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.backbone.init_cfg.checkpoint.endswith(
        'tscae_recommended-seed1/epoch_6.pth')
    assert transfer.encoder_checkpoint('mae', 0, 'w') == 'w/mae/epoch_6.pth'
    assert transfer.encoder_checkpoint('random_init', 0, 'w') is None


def write_scalars(run_dir, records, stamp='20260101_000000'):
    vis = run_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))


def dump_run_config(run_dir, cmd):
    """What tools/train.py leaves in the work dir: the config it ran, with
    the command's --cfg-options, work_dir and resume."""
    cfg = Config.fromfile(REPO_ROOT / cmd[2])
    cfg.merge_from_dict(
        transfer.options_dict(cmd[cmd.index('--cfg-options') + 1:]))
    cfg.work_dir, cfg.resume, cfg.launcher = str(run_dir), True, 'none'
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(run_dir / osp.basename(cmd[2])))


def test_config_digest_ignores_only_the_machine_and_invocation():
    base = Config.fromfile(REPO_ROOT / transfer.TASKS['classification']
                           .config).to_dict()
    base['model']['backbone']['init_cfg']['checkpoint'] = 'w/mae/epoch_6.pth'
    digest = transfer.config_digest(base)
    moved = copy.deepcopy(base)
    moved.update(work_dir='/elsewhere', launcher='pytorch', resume=True)
    moved['model']['backbone']['init_cfg']['checkpoint'] = '/x/epoch_6.pth'
    assert transfer.config_digest(moved) == digest
    for change in (lambda c: c['optim_wrapper']['optimizer'].update(lr=5e-4),
                   lambda c: c['train_cfg'].update(max_epochs=7),
                   lambda c: c['model']['backbone'].update(init_cfg=None)):
        changed = copy.deepcopy(base)
        change(changed)
        assert transfer.config_digest(changed) != digest


def test_report_refuses_results_of_a_changed_config(tmp_path):
    work = tmp_path / 'work'
    (work / 'results').mkdir(parents=True)
    results = fake_results()
    results[3] = dict(results[3], config_digest='0123456789abcdef')
    del results[5]['config_digest']
    for n, result in enumerate(results):
        (work / 'results' / f'{n}.json').write_text(json.dumps(result))
    with pytest.raises(RuntimeError) as error:
        transfer.report(str(work), str(tmp_path / 'docs' / 'results'))
    message = str(error.value)
    assert 'detection_mae-seed1 (0123456789abcdef)' in message
    assert 'detection_tscae_recommended-seed1 (no digest)' in message
    assert 'random_init' not in message and 'segmentation' not in message


def test_finetune_one_records_the_logged_metric_once(tmp_path, monkeypatch):
    study = tmp_path / 'study'
    (study / 'mae-seed1').mkdir(parents=True)
    (study / 'mae-seed1' / 'epoch_6.pth').write_bytes(b'')
    work = tmp_path / 'transfer'
    calls = []

    def fake_run(cmd, log_file):
        calls.append(cmd)
        run_dir = work / 'detection' / 'mae-seed1'
        dump_run_config(run_dir, cmd)
        write_scalars(run_dir, [{'loss': 1.0, 'step': 10},
                                {'pascal_voc/mAP': 0.1, 'step': 300},
                                {'pascal_voc/mAP': 0.4321, 'step': 600}])
        return 61.0

    monkeypatch.setattr(transfer, 'run_command', fake_run)
    result = transfer.finetune_one('detection', 'mae', 1, str(work),
                                   str(study))
    assert result['value'] == 43.21  # the last value, in percent
    assert result['seconds'] == 61.0 and result['seed'] == 1
    assert result['config_digest'] == transfer.expected_config_digest(
        'detection', 'mae', 1)
    cmd = calls[0]
    assert cmd[1:4] == ['tools/train.py', transfer.TASKS['detection'].config,
                        '--work-dir']
    assert '--resume' in cmd and 'randomness.seed=1' in cmd
    saved = json.loads(
        (work / 'results' / 'detection_mae-seed1.json').read_text())
    assert saved == result
    # done: not run again
    assert transfer.finetune_one('detection', 'mae', 1, str(work),
                                 str(study)) == result
    assert len(calls) == 1


def test_finetune_one_skips_a_missing_encoder_and_refuses_no_metric(
        tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, 'run_command',
                        lambda cmd, log_file: pytest.fail('ran'))
    assert transfer.finetune_one('segmentation', 'tscae', 0,
                                 str(tmp_path / 'w'),
                                 str(tmp_path / 'study')) is None

    def no_metric(cmd, log_file):
        write_scalars(tmp_path / 'w' / 'segmentation' / 'random_init',
                      [{'loss': 1.0}])
        return 1.0

    monkeypatch.setattr(transfer, 'run_command', no_metric)
    with pytest.raises(RuntimeError, match='logged no mIoU'):
        transfer.finetune_one('segmentation', 'random_init', 0,
                              str(tmp_path / 'w'), str(tmp_path / 'study'))


def fake_results():
    values = {
        ('detection', 'random_init'): (2.0, 3.0),
        ('detection', 'mae'): (10.0, 12.0),
        ('detection', 'tscae_recommended'): (11.0, 11.5),
        ('segmentation', 'random_init'): (20.0, 22.0),
        ('segmentation', 'mae'): (21.0, 23.0),
    }
    return [dict(task=task, encoder=encoder, seed=seed, value=value,
                 seconds=600.0 + seed * 60,
                 config_digest=expected_digest(task, encoder, seed))
            for (task, encoder), pair in values.items()
            for seed, value in enumerate(pair)]


@functools.lru_cache(maxsize=None)
def expected_digest(task, encoder, seed):
    return transfer.expected_config_digest(task, encoder, seed)


def test_collect_verdicts_and_table():
    tasks = transfer.collect(fake_results())
    mae = tasks['detection']['encoders']['mae']
    assert mae['seeds'] == [0, 1] and mae['values'] == [10.0, 12.0]
    assert (mae['mean'], mae['spread'], mae['minutes']) == (11.0, 2.0, 10.5)
    assert tasks['detection']['metric'] == 'pascal_voc/mAP'
    assert tasks['classification']['encoders'] == {}
    lines = transfer.verdicts(tasks)
    assert ('detection: MAE vs random init: 11.00 vs 2.50 (+8.50; MAE '
            'higher, outside the spread)') in lines
    assert any(line.startswith('segmentation: MAE vs random init')
               and 'inside the spread' in line for line in lines)
    assert any(line.startswith('detection: TSCAE (recommended) vs MAE')
               and 'inside the spread' in line for line in lines)
    table = transfer.table(tasks)
    assert '| MAE | 11.00 (10.00-12.00, 2 seeds) | 22.00 (21.00-23.00, ' \
        '2 seeds) | - | 10.5 / 10.5 / - |' in table


def test_report_writes_transfer_json_and_the_results_section(tmp_path):
    work = tmp_path / 'work'
    (work / 'results').mkdir(parents=True)
    for n, result in enumerate(fake_results()):
        (work / 'results' / f'{n}.json').write_text(json.dumps(result))
    docs = tmp_path / 'docs'
    (docs / 'results').mkdir(parents=True)
    (docs / 'results.md').write_text(
        f'# Results\n\nbefore\n{transfer.BEGIN}\nold table\n{transfer.END}'
        '\nafter\n')
    transfer.report(str(work), str(docs / 'results'))
    data = json.loads((docs / 'results' / 'transfer.json').read_text())
    entry = data['tasks']['detection']['encoders']['random_init']
    assert {'seeds', 'values', 'mean', 'spread', 'minutes'} <= set(entry)
    assert set(data['tasks']) == {'detection', 'segmentation',
                                  'classification'}
    assert data['commands'] == transfer.COMMANDS
    text = (docs / 'results.md').read_text()
    assert 'old table' not in text
    assert text.startswith('# Results\n\nbefore\n') and text.endswith(
        f'{transfer.END}\nafter\n')
    assert '| random init | 2.50 (2.00-3.00, 2 seeds)' in text
    assert '- detection: MAE vs random init: 11.00 vs 2.50' in text
    # every result is kept beside transfer.json, and a later report on a
    # machine without the work dir (or with only new runs) still has them
    assert len(list((docs / 'results' / 'transfer').glob('*.json'))) == 10
    fresh = tmp_path / 'fresh'
    (fresh / 'results').mkdir(parents=True)
    newer = dict(fake_results()[0], value=2.25)
    (fresh / 'results' / '0.json').write_text(json.dumps(newer))
    data = transfer.report(str(fresh), str(docs / 'results'))
    entry = data['tasks']['detection']['encoders']['random_init']
    assert entry['values'] == [2.25, 3.0]
    assert data['tasks']['segmentation']['encoders']['mae']['values'] == [
        21.0, 23.0]


def test_data_stage_refuses_a_devkit_made_otherwise(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the devkit's path is relative to it
    with pytest.raises(FileNotFoundError, match='Pass --images'):
        transfer.make_data(str(tmp_path / 'nowhere'))
    root = tmp_path / transfer.DATA_ROOT
    root.mkdir(parents=True)
    with pytest.raises(RuntimeError, match='has no transfer_data.json'):
        transfer.make_data(str(tmp_path))
    (root / 'transfer_data.json').write_text(json.dumps(
        dict(transfer.DATA, trainval=10, images='x')))
    with pytest.raises(RuntimeError, match='delete .* and rerun'):
        transfer.make_data(str(tmp_path))
    (root / 'transfer_data.json').write_text(json.dumps(
        dict(transfer.DATA, images='x')))
    transfer.make_data(str(tmp_path))  # made already: nothing to do
    (root / 'transfer_data.json').unlink()
    with pytest.raises(FileNotFoundError, match='run the data stage'):
        transfer.finetune(['detection'], ['mae'], [0], str(tmp_path / 'w'),
                          str(tmp_path / 's'))


def test_average_precision_is_the_mean_precision_at_the_positives():
    import numpy as np
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert transfer.average_precision(scores, np.array([1, 0, 1, 0])) == \
        pytest.approx((1 / 1 + 2 / 3) / 2)
    assert transfer.average_precision(scores, np.array([0, 0, 0, 1])) == \
        pytest.approx(1 / 4)
    with pytest.raises(ValueError, match='at least one positive'):
        transfer.average_precision(scores, np.zeros(4))


def test_multilabel_probe_reads_classes_from_features_not_noise():
    import numpy as np
    import torch
    rng = np.random.default_rng(0)

    def split(n, informative):
        x = rng.normal(size=(n, 16)).astype(np.float32)
        y = np.zeros((n, 20), dtype=np.float32)
        if informative:
            y[:, 0] = x[:, 0] > 0
            y[:, 1] = x[:, 1] > 0.5
        else:
            y[:, 0] = rng.random(n) > 0.5
            y[:, 1] = rng.random(n) > 0.7
        return torch.from_numpy(x), y

    clean = transfer.multilabel_probe(*split(400, True), *split(200, True))
    assert set(clean['ap']) == {'0', '1'}  # classes absent from the test
    assert clean['map'] > 95
    noise = transfer.multilabel_probe(*split(400, False), *split(200, False))
    assert abs(noise['map'] - noise['chance_map']) < 12
    assert noise['chance_map'] == pytest.approx(100 * np.mean(
        [0.5, 0.3]), abs=8)


def test_report_summarises_the_frozen_probe(tmp_path):
    work = tmp_path / 'work'
    (work / 'probe').mkdir(parents=True)
    for encoder, maps in (('random_init', (25.0, 26.0)), ('mae',
                                                          (30.0, 31.5))):
        for seed, value in enumerate(maps):
            (work / 'probe' / f'{encoder}-seed{seed}.json').write_text(
                json.dumps(dict(encoder=encoder, seed=seed, map=value,
                                chance_map=15.74, ap={})))
    out = tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    data = transfer.report(str(work), str(out))
    mae = data['probe']['encoders']['mae']
    assert (mae['seeds'], mae['mean'], mae['spread'], mae['chance']) == (
        [0, 1], 30.75, 1.5, 15.74)
    assert ('frozen probe: MAE vs random init: 30.75 vs 25.50 (+5.25; MAE '
            'higher, outside the spread)') in data['verdicts']
    assert len(list((out / 'transfer_probe').glob('*.json'))) == 4
    assert '| MAE | 30.75 (30.00-31.50, 2 seeds) | 15.74 |' in \
        transfer.probe_table(data['probe']['encoders'])


def test_token_labels_take_each_cells_most_frequent_class():
    import numpy as np
    label_map = np.full((8, 8), 255, dtype=np.uint8)
    label_map[:4, :4] = 0  # cell (0, 0): all background
    label_map[:4, 4:] = 7
    label_map[0, 4:7] = 0  # cell (0, 1): 13 pixels of class 7, 3 of 0
    label_map[4:, :4] = 255  # cell (1, 0): all ignored
    label_map[4:, 4:] = 12
    label_map[4:6, 4:] = 255  # cell (1, 1): 8 ignored, 8 of class 12
    np.testing.assert_array_equal(transfer.token_labels(label_map, 4),
                                  [[0, 7], [-1, 12]])


def test_segmentation_scores_are_mmseg_ious_over_the_present_classes():
    import numpy as np
    truth = np.array([0, 0, 0, 0, 3, 3, 5, 5])
    predicted = np.array([0, 0, 0, 3, 3, 3, 0, 5])
    scores = transfer.segmentation_scores(predicted, truth)
    assert scores['iou'] == {'0': 60.0, '3': pytest.approx(66.67),
                             '5': 50.0}
    assert scores['miou'] == pytest.approx((60 + 200 / 3 + 50) / 3)
    assert scores['aacc'] == 75.0


def test_dense_linear_probe_reads_token_classes_from_features_not_noise():
    import numpy as np
    import torch
    rng = np.random.default_rng(0)

    def split(n, informative):
        y = rng.choice([0, 0, 0, 4, 9], size=n)
        x = rng.normal(size=(n, 8)).astype(np.float32)
        if informative:
            x[np.arange(n), y % 8] += 4.0  # the class shows in one feature
        return torch.from_numpy(x), y

    clean = transfer.dense_linear_probe(*split(3000, True),
                                        *split(1000, True))
    assert set(clean['iou']) == {'0', '4', '9'}
    assert clean['miou'] > 90
    noise = transfer.dense_linear_probe(*split(3000, False),
                                        *split(1000, False))
    # calling everything background scores IoU(0) = 60 % / 3 classes
    assert noise['chance_miou'] == pytest.approx(20, abs=3)
    assert noise['miou'] < 30


def test_report_adds_the_dense_probe(tmp_path):
    work = tmp_path / 'work'
    (work / 'dense_probe').mkdir(parents=True)
    for encoder, values in (('random_init', (13.0, 14.0)),
                            ('mae', (19.0, 18.0))):
        for seed, value in enumerate(values):
            (work / 'dense_probe' / f'{encoder}-seed{seed}.json').write_text(
                json.dumps(dict(encoder=encoder, seed=seed, miou=value,
                                chance_miou=8.76, aacc=80.0, iou={})))
    out = tmp_path / 'docs' / 'results'
    out.mkdir(parents=True)
    data = transfer.report(str(work), str(out))
    mae = data['dense_probe']['encoders']['mae']
    assert (mae['mean'], mae['spread'], mae['chance']) == (18.5, 1.0, 8.76)
    assert ('frozen dense probe: MAE vs random init: 18.50 vs 13.50 (+5.00; '
            'MAE higher, outside the spread)') in data['verdicts']
    assert len(list((out / 'transfer_dense_probe').glob('*.json'))) == 4
    assert '| MAE | 18.50 (18.00-19.00, 2 seeds) | 8.76 |' in \
        transfer.probe_table(data['dense_probe']['encoders'], 'dense_probe')
