"""Every pre-training config switches the reliability features on and passes
the config checks."""
import pytest
from mmengine.config import Config

import tscae_mm  # noqa: F401
from tscae_mm.engine import (
    ConfigMismatchError,
    check_seeded_loader,
    check_training_config,
)

from conftest import REPO_ROOT

CONFIG_ROOT = REPO_ROOT / 'configs'
PRETRAIN_CONFIGS = sorted((CONFIG_ROOT / 'tscae').glob('*.py')) + sorted(
    (CONFIG_ROOT / 'mae').glob('*.py'))
RELIABILITY_HOOKS = {
    'ReproducibleRandomnessHook', 'NonFiniteLossHook', 'SkippedImagesHook',
    'GlobalBatchLossHook'
}


def innermost_dataset(cfg: Config) -> dict:
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    return dataset


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=lambda p: p.stem)
def test_pretraining_config_is_reliable(path):
    cfg = Config.fromfile(str(path))
    check_training_config(cfg)
    if 'fsdp' in path.stem:  # FSDP: MMEngine's FlexibleRunner, ours
        assert cfg.runner_type == 'ReliableFlexibleRunner'
        assert cfg.strategy.type == 'TSCAEFSDPStrategy'
    else:
        assert cfg.runner_type == 'ReliableRunner'
    assert RELIABILITY_HOOKS <= {hook['type'] for hook in cfg.custom_hooks}
    assert cfg.train_dataloader.sampler.type == 'SeededSampler'
    assert cfg.train_dataloader.dataset.type == 'SeededDataset'
    loader = innermost_dataset(cfg).pipeline[0]
    assert loader.type == 'LoadImageFromFileSafe'
    assert loader.get('on_decode_error', 'skip') == 'skip'
    assert cfg.default_hooks.checkpoint.max_keep_ckpts >= 2


@pytest.mark.parametrize(
    'path', sorted((CONFIG_ROOT / 'tscae').glob('*.py')), ids=lambda p: p.stem)
def test_contrast_batchnorm_is_synchronised(path):
    """GPU configs: PyTorch's SyncBN (a CPU DDP run swaps it, see
    test_cpu_ddp_runs_syncbn_as_any_device); the CPU demo: SyncBNAnyDevice."""
    cfg = Config.fromfile(str(path))
    expected = 'SyncBNAnyDevice' if 'demo' in path.name else 'SyncBN'
    assert cfg.model.contrast_head.norm_cfg.type == expected


def test_cpu_ddp_runs_syncbn_as_any_device():
    from tscae_mm.utils.launch import sync_bn_for_cpu
    cfg = Config.fromfile(str(
        CONFIG_ROOT / 'tscae' /
        'tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py'))
    assert sync_bn_for_cpu(cfg) == 1
    assert cfg.model.contrast_head.norm_cfg.type == 'SyncBNAnyDevice'
    assert sync_bn_for_cpu(cfg) == 0
    nested = Config(dict(model=dict(neck=[dict(norm_cfg=dict(
        type='SyncBN', requires_grad=True))])))
    assert sync_bn_for_cpu(nested) == 1
    assert nested.model.neck[0].norm_cfg == dict(type='SyncBNAnyDevice',
                                                 requires_grad=True)


@pytest.mark.parametrize('sampler, dataset', [
    ('SeededSampler', 'CustomDataset'),
    ('DefaultSampler', 'SeededDataset'),
])
def test_seeded_sampler_and_dataset_come_together(sampler, dataset):
    cfg = Config(
        dict(
            train_dataloader=dict(
                sampler=dict(type=sampler), dataset=dict(type=dataset))))
    with pytest.raises(
            ConfigMismatchError,
            match='SeededSampler and SeededDataset work only '
            'together'):
        check_seeded_loader(cfg)
