"""Pre-training on one's own folder of images, as a user sets it up: the
data set keys at the usual place (train_dataloader.dataset.<key>) although
our configs wrap the data set in SeededDataset, and a warning when a changed
max_epochs no longer matches the schedule."""
import copy
import logging
import os

import pytest
from mmengine.config import Config
from PIL import Image

import tscae_mm  # noqa: F401
from tscae_mm.datasets import SeededDataset, seeded
from tscae_mm.engine import config_checks

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

STUDY_CONFIG = (REPO_ROOT / 'projects' / 'tscae_study' / 'configs' /
                'tscae_vit-tiny-d6-p4_6e_cifar10-5k.py')


def write_images(root, count, nested=True):
    """``count`` small PNGs, half of them one folder deeper."""
    for index in range(count):
        folder = root / ('a' if index % 2 or not nested else 'b/c')
        folder.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', (40, 36), (index * 3 % 256, 80, 160)).save(
            folder / f'{index:03d}.png')
    return root


def captured_logs(monkeypatch, module):
    """Messages ``module`` logs through mmengine's print_log."""
    lines = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: lines.append(
                            (kwargs.get('level', logging.INFO), msg)))
    return lines


def demo_inner_dataset():
    return copy.deepcopy(
        Config.fromfile(DEMO_CONFIG).train_dataloader.dataset.dataset)


def test_seeded_dataset_passes_data_root_on(tmp_path, monkeypatch):
    images = write_images(tmp_path / 'mine', 6)
    logs = captured_logs(monkeypatch, seeded)
    inner = demo_inner_dataset()
    dataset = SeededDataset(dataset=inner, data_root=str(images))
    assert len(dataset) == 6
    assert {info['img_path'] for info in
            (dataset.get_data_info(i) for i in range(6))} == {
                str(path) for path in images.rglob('*.png')}
    assert logs == [(logging.INFO, (
        f'SeededDataset: data_root set on the wrapper ({str(images)!r}) '
        f"replaces the wrapped dataset's data_root ({inner.data_root!r})."))]
    assert dataset[2]['inputs'].shape[-2:] == (32, 32)  # inner pipeline


def test_seeded_dataset_passes_pipeline_and_with_label_on(tmp_path):
    images = write_images(tmp_path / 'mine', 4)
    dataset = SeededDataset(
        dataset=demo_inner_dataset(), data_root=str(images),
        data_prefix='a', with_label=False,
        pipeline=[dict(type='LoadImageFromFileSafe'),
                  dict(type='PackInputs')])
    assert len(dataset) == 2  # only the folder a/
    assert dataset[0]['inputs'].shape[-2:] == (36, 40)


def test_seeded_dataset_names_the_key_it_cannot_pass_on():
    with pytest.raises(TypeError) as error:
        SeededDataset(dataset=demo_inner_dataset(), indices=10)
    message = str(error.value)
    assert message.startswith(
        "SeededDataset got 'indices', which it does not pass on: it wraps "
        'the real dataset, configured under its `dataset` key. Set '
        'train_dataloader.dataset.dataset.indices instead')
    assert ('SeededDataset itself takes dataset, lazy_init and data_root, '
            'ann_file, data_prefix, pipeline, with_label') in message


def test_seeded_dataset_cannot_pass_keys_to_a_built_dataset(tmp_path):
    built = SeededDataset(dataset=demo_inner_dataset()).dataset
    with pytest.raises(TypeError, match='with an already built dataset '
                       r'\(CustomDataset\); they can only be passed on to a '
                       'dataset config'):
        SeededDataset(dataset=built, data_root=str(tmp_path))


def test_cfg_options_data_root_reaches_the_data_set(tmp_path):
    from mmengine.runner import Runner
    images = write_images(tmp_path / 'mine', 5)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(images),
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
    })
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(loader.dataset) == 5


def test_config_checks_see_the_forwarded_pipeline():
    """A pipeline set on the wrapper replaces the wrapped one, so the size
    checks look at it, not at the replaced one."""
    cfg = Config.fromfile(DEMO_CONFIG)
    pipeline = [dict(type='LoadImageFromFileSafe'),
                dict(type='RandomResizedCrop', scale=48)]
    cfg.merge_from_dict({'train_dataloader.dataset.pipeline': pipeline})
    assert list(config_checks.train_pipelines(cfg)) == [pipeline]
    with pytest.raises(config_checks.ConfigMismatchError,
                       match=r'RandomResizedCrop.scale \(crop size\)=\(48, '
                       r'48\)'):
        config_checks.check_tscae_config(cfg)


def schedule_warnings(cfg, monkeypatch):
    logs = captured_logs(monkeypatch, config_checks)
    config_checks.warn_if_schedule_and_loop_disagree(cfg)
    return [msg for level, msg in logs if level == logging.WARNING]


def test_shorter_run_than_schedule_warns_naming_both(monkeypatch):
    cfg = Config.fromfile(REPO_ROOT / 'configs' / 'tscae' /
                          'tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py')
    cfg.merge_from_dict({'train_cfg.max_epochs': 20})
    assert schedule_warnings(cfg, monkeypatch) == [
        'train_cfg.max_epochs=20 but the param_scheduler ends at epoch 400 '
        '(param_scheduler[1].end): the run stops at epoch 20, before the '
        'schedule has run its course; the whole run is warm-up (LinearLR '
        'ends at epoch 40). Schedule: param_scheduler[0] LinearLR from '
        'epoch 0 to 40; param_scheduler[1] CosineAnnealingLR from epoch 40 '
        'to 400. If you changed train_cfg.max_epochs, also set the '
        "schedulers' begin / end (and CosineAnnealingLR's T_max) to match "
        'it (e.g. a new param_scheduler list in your config), or set '
        'train_cfg.max_epochs=400 back. A run that deliberately stops early '
        '(e.g. tools/run_study.py screening the first epochs of a longer '
        'schedule) can ignore this.'
    ]


def test_longer_run_than_decay_warns(monkeypatch):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({'train_cfg.max_epochs': 10})
    [warning] = schedule_warnings(cfg, monkeypatch)
    assert warning.startswith(
        'train_cfg.max_epochs=10 but the param_scheduler ends at epoch 4 '
        '(param_scheduler[1].end): its last 6 epoch(s) run on at the final '
        'value of CosineAnnealingLR.')


def test_matching_schedules_and_warm_up_only_schedules_are_quiet(
        monkeypatch):
    assert schedule_warnings(Config.fromfile(DEMO_CONFIG), monkeypatch) == []
    mini_detection = Config.fromfile(
        REPO_ROOT / 'configs' / 'benchmarks' / 'mmdet' /
        'tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py')
    # 40 iterations after a 5-iteration warm-up: the lr stays at its base
    assert schedule_warnings(mini_detection, monkeypatch) == []


def test_study_screening_run_warns_but_is_not_refused(monkeypatch):
    """tools/run_study.py screens with the first 3 epochs of the 6-epoch
    schedule (--cfg-options train_cfg.max_epochs=3): a warning, no error."""
    cfg = Config.fromfile(STUDY_CONFIG)
    cfg.merge_from_dict({'train_cfg.max_epochs': 3})
    logs = captured_logs(monkeypatch, config_checks)
    config_checks.check_training_config(cfg)
    warnings = [msg for level, msg in logs if level == logging.WARNING]
    assert any(msg.startswith('train_cfg.max_epochs=3 but the '
                              'param_scheduler ends at epoch 6')
               for msg in warnings), warnings


@pytest.mark.slow
def test_own_folder_from_a_client_directory(tmp_path):
    """A client repository's child config of the demo config points the
    data at its own folder and shortens the run; tools/train.py trains on
    exactly those images and warns about the schedule."""
    client = tmp_path / 'my_project'
    images = write_images(client / 'data' / 'my_images', 64)
    (client / 'configs').mkdir()
    (client / 'configs' / 'tscae_my-images.py').write_text(
        f'_base_ = {str(DEMO_CONFIG)!r}\n'
        'train_dataloader = dict(\n'
        '    batch_size=32, num_workers=0, persistent_workers=False,\n'
        "    dataset=dict(data_root='data/my_images'))\n"
        'train_cfg = dict(max_epochs=1)\n')
    proc = run_tool([
        REPO_ROOT / 'tools' / 'train.py', 'configs/tscae_my-images.py',
        '--work-dir', 'work_dirs/mine'
    ], cwd=client)
    log = proc.stdout + proc.stderr
    assert ("SeededDataset: data_root set on the wrapper ('data/my_images') "
            "replaces the wrapped dataset's data_root") in log
    assert ('train_cfg.max_epochs=1 but the param_scheduler ends at epoch 4'
            in log)
    assert 'Epoch(train) [1][2/2]' in log  # 64 images, batch 32
    assert (client / 'work_dirs' / 'mine' / 'epoch_1.pth').is_file()
    assert images.is_dir()
    # CPU threads: run_tool sets OMP_NUM_THREADS (kept); the wait policy is
    # chosen by the entry point unless the caller's environment has one
    assert log.count('CPU threads: ') == 1
    assert 'intra-op (OMP_NUM_THREADS=' in log
    if 'OMP_WAIT_POLICY' not in os.environ:  # chosen by the machine's load
        assert ('OMP_WAIT_POLICY=PASSIVE (set by tscae_mm: machine busy)'
                in log or "OMP_WAIT_POLICY unset (OpenMP's default: the "
                'machine was idle at start' in log)
