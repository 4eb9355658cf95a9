"""A TSCAE config whose image sizes, patch sizes and masks disagree is
refused, naming the values, before anything is built; the checks every
config gets from the reliable runners."""
import pytest
from mmengine.config import Config

import tscae_mm  # noqa: F401
from tscae_mm.engine import (
    ConfigMismatchError,
    check_training_config,
    check_tscae_config,
    config_checks,
)

from reliability_runs import (
    DEMO_CONFIG,
    run_training,
    write_images,
    write_tiny_config,
)


def demo_cfg() -> Config:
    return Config.fromfile(str(DEMO_CONFIG))


def mask_generator(cfg):
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    return next(t for t in dataset.pipeline
                if t['type'] == 'ComplementaryMaskGenerator')


def test_demo_config_passes_the_check():
    check_tscae_config(demo_cfg())


def test_mask_size_mismatch_is_refused_naming_values():
    cfg = demo_cfg()
    mask_generator(cfg)['input_size'] = 64
    with pytest.raises(ConfigMismatchError) as refused:
        check_tscae_config(cfg)
    message = str(refused.value)
    assert 'image sizes (height, width) disagree' in message
    assert 'model.backbone.img_size=(32, 32)' in message
    assert ('train pipeline ComplementaryMaskGenerator.input_size=(64, 64)'
            in message)
    assert ('train pipeline RandomResizedCrop.scale (crop size)=(32, 32)'
            in message)


def test_patch_size_mismatch_is_refused_naming_values():
    cfg = demo_cfg()
    mask_generator(cfg)['patch_size'] = 8
    with pytest.raises(ConfigMismatchError) as refused:
        check_tscae_config(cfg)
    message = str(refused.value)
    assert 'patch sizes disagree' in message
    assert 'model.backbone.patch_size=4' in message
    assert 'ComplementaryMaskGenerator.patch_size=8' in message


def test_decoder_grid_mismatch_is_refused():
    cfg = demo_cfg()
    cfg.model.neck.patch_resolution = 4
    with pytest.raises(
            ConfigMismatchError,
            match=r'patch grids \(rows, columns\) disagree: '
            r'img_size / patch_size of model.backbone=\(8, 8\), '
            r'model.neck.patch_resolution=\(4, 4\)'):
        check_tscae_config(cfg)


def test_keeping_one_checkpoint_is_warned_about(monkeypatch):
    messages = []
    monkeypatch.setattr(config_checks, 'print_log',
                        lambda message, **kwargs: messages.append(message))
    cfg = demo_cfg()
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    check_training_config(cfg)
    (message, ) = messages
    assert 'max_keep_ckpts=1' in message
    assert 'Use max_keep_ckpts >= 2' in message


@pytest.mark.slow
def test_train_refuses_mismatch_before_training(tmp_path):
    data_root = write_images(tmp_path / 'data', count=8)
    config = write_tiny_config(tmp_path / 'tiny.py', data_root, epochs=1)
    proc = run_training(
        config,
        tmp_path / 'run',
        extra=['--cfg-options', 'model.backbone.img_size=64'])
    assert proc.returncode != 0
    assert 'ConfigMismatchError' in proc.stderr
    assert 'model.backbone.img_size=(64, 64)' in proc.stderr
    assert not list((tmp_path / 'run').glob('*/vis_data/scalars.json'))
