"""TSCAECollapseMonitorHook: fires on a collapsed model, stays silent on a
healthy one, logs its statistics, and never changes training."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS

import tscae_mm  # noqa: F401
from tscae_mm.engine import ReliableRunner

from reliability_runs import (
    REPO_ROOT,
    describe,
    free_port,
    newest_log,
    read_losses,
    run_training,
    scalar_logs,
    write_images,
    write_tiny_config,
)

DEMO = REPO_ROOT / 'configs' / 'tscae' / 'tscae_vit-tiny-p4_demo.py'
MAE_STUDY = REPO_ROOT / 'projects' / 'tscae_study' / 'configs' / \
    'mae_vit-tiny-d6-p4_6e_cifar10-5k.py'
MONITOR_HOOKS = '''
custom_hooks = [
    dict(type='ReproducibleRandomnessHook'),
    dict(type='TSCAECollapseMonitorHook', interval=1, num_images=8)]
'''
PLAIN_HOOKS = '''
custom_hooks = [dict(type='ReproducibleRandomnessHook')]
'''


def demo_runner(tmp_path, config=DEMO, **options):
    """A Runner of a real config on the committed demo images, not trained."""
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.dataset.dataset.data_root = str(
        REPO_ROOT / 'demo' / 'cifar10-mini')
    cfg.train_dataloader.dataset.dataset.pop('ann_file', None)
    cfg.custom_hooks = []
    cfg.merge_from_dict(options)
    runner = ReliableRunner.from_cfg(cfg)
    runner.model.init_weights()
    return runner


def monitor(**kwargs):
    return HOOKS.build(
        dict(dict(type='TSCAECollapseMonitorHook', num_images=32), **kwargs))


def collapse_encoder(backbone):
    """Every output token of every image becomes the same vector."""
    with torch.no_grad():
        backbone.ln1.weight.zero_()
        backbone.ln1.bias.copy_(torch.linspace(-1, 1, len(backbone.ln1.bias)))


def test_fires_on_a_collapsed_model_and_names_the_switches(tmp_path):
    runner = demo_runner(tmp_path)
    hook = monitor()
    hook.before_train(runner)  # the initialisation: healthy
    collapse_encoder(runner.model.backbone)
    hook.check(runner, step=1)
    hook.check(runner, step=2)
    log = newest_log(tmp_path / 'work')
    for name in ('student_within_image_cos',
                 'student_global_between_images_cos',
                 'same_position_between_images_cos', 'effective_rank_ratio'):
        assert log.count(f'COLLAPSE WARNING (iteration 1): {name}') == 1, \
            name
    assert 'COLLAPSE WARNING (iteration 2)' not in log  # once each
    assert 'model.contrast_head.symmetric=False' in log
    assert 'configs/tscae/*-recommended-*.py' in log
    assert 'model.target_momentum=0.01' in log
    assert 'model = dict(contrast_head=dict(symmetric=False))' in log
    assert '(effective rank 1.0, first ' in log


def test_silent_on_a_healthy_model(tmp_path):
    runner = demo_runner(tmp_path)
    hook = monitor()
    hook.before_train(runner)
    hook.check(runner, step=1)
    log = newest_log(tmp_path / 'work')
    assert 'Collapse monitor, iteration 0' in log
    assert 'COLLAPSE WARNING' not in log
    stats = hook.measure(runner)
    assert stats['student_within_image_cos'] < 0.9
    assert stats['effective_rank_ratio'] == pytest.approx(1.)


def test_works_for_mae_with_pooled_statistics(tmp_path):
    runner = demo_runner(tmp_path, config=MAE_STUDY)
    hook = monitor()
    hook.before_train(runner)
    stats = hook.measure(runner)
    assert {'within_image_cos', 'between_images_cos', 'effective_rank',
            'same_position_between_images_cos'} <= set(stats)
    assert not any(key.startswith('student') for key in stats)


@pytest.mark.slow
def test_does_not_change_training_and_logs_scalars(tmp_path):
    data_root = write_images(tmp_path / 'data', count=16)
    losses = {}
    for name, hooks in (('plain', PLAIN_HOOKS), ('monitored',
                                                  MONITOR_HOOKS)):
        config = write_tiny_config(tmp_path / f'{name}.py', data_root,
                                   batch_size=8, epochs=2)
        config.write_text(config.read_text() + hooks)
        work_dir = tmp_path / name
        proc = run_training(config, work_dir)
        assert proc.returncode == 0, describe(proc)
        losses[name] = read_losses(scalar_logs(work_dir)[-1])
    assert sorted(losses['plain']) == [1, 2, 3, 4]
    assert losses['monitored'] == losses['plain']  # bit-identical
    records = [
        json.loads(line)
        for line in scalar_logs(tmp_path / 'monitored')[-1].read_text()
        .splitlines()
    ]
    steps = [r['step'] for r in records if 'collapse/effective_rank' in r]
    assert steps == [0, 1, 2, 3, 4]
    assert all('collapse/student_within_image_cos' in r for r in records
               if 'collapse/effective_rank' in r)
    assert 'Collapse monitor, iteration 4' in newest_log(
        tmp_path / 'monitored')


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match='unknown thresholds'):
        monitor(thresholds=dict(student_cos=0.9))
    with pytest.raises(ValueError, match='num_images'):
        monitor(num_images=1)


def test_on_in_every_tscae_config():
    configs = sorted((REPO_ROOT / 'configs' / 'tscae').glob('*.py')) + \
        sorted((REPO_ROOT / 'projects' / 'tscae_study' / 'configs').rglob(
            '*.py'))
    checked = 0
    for path in configs:
        cfg = Config.fromfile(str(path))
        if cfg.model.type != 'TSCAE':
            continue
        hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'TSCAECollapseMonitorHook' in hooks, path
        checked += 1
    assert checked >= 10


@pytest.mark.slow
def test_two_processes_with_monitor_and_momentum_target(tmp_path):
    """Rank 0 computes, rank 1 does not wait on it; the momentum target's
    frozen placeholder leaves DDP no unused parameter."""
    data_root = write_images(tmp_path / 'data', count=16)
    config = write_tiny_config(tmp_path / 'ddp.py', data_root, batch_size=4,
                               epochs=2)
    config.write_text(config.read_text() + MONITOR_HOOKS + '''
model.update(target_momentum=0.01, target_end_momentum=0.01)
''')
    work_dir = tmp_path / 'run'
    proc = run_training(config, work_dir, processes=2, port=free_port())
    assert proc.returncode == 0, describe(proc)
    log = newest_log(work_dir)
    assert 'Collapse monitor, iteration 4' in log
    assert sorted(read_losses(scalar_logs(work_dir)[-1])) == [1, 2, 3, 4]
