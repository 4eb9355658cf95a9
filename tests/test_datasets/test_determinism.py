"""Per-sample randomness: masks and crops depend only on (seed, epoch, index).

Checked at the data loader (any number of workers, persistent or not, any
number of ranks) and with real training runs (same losses for 0 and 2
workers).
"""
import logging

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

import tscae_mm  # noqa: F401
from tscae_mm.datasets import SampleKey, SeededDataset, SeededSampler

from reliability_runs import (
    describe,
    read_losses,
    run_training,
    scalar_logs,
    write_images,
    write_tiny_config,
)

PIPELINE = [
    dict(type='LoadImageFromFileSafe'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ComplementaryMaskGenerator', input_size=32, patch_size=4),
    dict(type='PackInputs', algorithm_keys=['mask'])
]


@pytest.fixture(scope='module')
def image_root(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp('determinism'), count=12)


def seeded_dataset(image_root) -> SeededDataset:
    init_default_scope('mmpretrain')
    return SeededDataset(
        dict(
            type='CustomDataset',
            data_root=str(image_root),
            with_label=False,
            pipeline=PIPELINE))


def load_epochs(dataset, sampler, num_workers, epochs=2, persistent=False):
    """Per epoch, the (image bytes, mask bytes) of each sample in order."""
    loader = DataLoader(
        dataset,
        batch_size=4,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=default_collate,
        persistent_workers=persistent)
    seen = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        seen.append([
            (image.numpy().tobytes(), sample.mask.tobytes())
            for batch in loader
            for image, sample in zip(batch['inputs'], batch['data_samples'])
        ])
    return seen


def test_sample_depends_only_on_seed_epoch_index(image_root):
    dataset = seeded_dataset(image_root)
    first = dataset[SampleKey(3, 1, 5)]
    again = dataset[SampleKey(3, 1, 5)]
    other_epoch = dataset[SampleKey(3, 2, 5)]
    other_seed = dataset[SampleKey(4, 1, 5)]
    assert torch.equal(first['inputs'], again['inputs'])
    assert np.array_equal(first['data_samples'].mask,
                          again['data_samples'].mask)
    for other in (other_epoch, other_seed):
        assert not np.array_equal(first['data_samples'].mask,
                                  other['data_samples'].mask)


def test_global_random_state_is_left_untouched(image_root):
    dataset = seeded_dataset(image_root)
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (np.random.rand(), torch.rand(1).item())
    np.random.seed(123)
    torch.manual_seed(123)
    dataset[SampleKey(0, 0, 2)]
    assert (np.random.rand(), torch.rand(1).item()) == expected


@pytest.mark.parametrize('persistent', [False, True])
def test_workers_do_not_change_samples(image_root, persistent):
    dataset = seeded_dataset(image_root)
    in_process = load_epochs(dataset, SeededSampler(dataset, seed=7), 0)
    in_workers = load_epochs(
        dataset, SeededSampler(dataset, seed=7), 2, persistent=persistent)
    assert in_workers == in_process
    assert in_process[0] != in_process[1]


def test_ranks_together_read_the_single_process_batches(
        image_root, monkeypatch):
    """Rank r of W reads perm[r::W]; with batch B / W per rank, iteration k
    of all ranks covers the single process's batch k of size B."""
    dataset = seeded_dataset(image_root)
    single = list(SeededSampler(dataset, seed=5))
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr(
            'mmengine.dataset.sampler.get_dist_info',
            lambda rank=rank: (rank, 2))
        per_rank.append(list(SeededSampler(dataset, seed=5)))
    global_batch, rank_batch = 4, 2
    for k in range(len(dataset) // global_batch):
        together = (
            per_rank[0][k * rank_batch:(k + 1) * rank_batch] +
            per_rank[1][k * rank_batch:(k + 1) * rank_batch])
        assert sorted(together) == sorted(single[k * global_batch:(k + 1) *
                                                 global_batch])


def loader_cfg(image_root):
    return dict(
        batch_size=4,
        num_workers=0,
        sampler=dict(type='SeededSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(
            type='SeededDataset',
            dataset=dict(
                type='CustomDataset',
                data_root=str(image_root),
                with_label=False,
                pipeline=PIPELINE)))


def test_build_dataloader_without_seed_behaves_like_default_sampler(
        image_root):
    """Runner.build_dataloader(cfg) with no seed: a drawn seed, a warning
    that the run is not reproducible; with a seed: the same batches twice."""
    from mmengine.runner import Runner
    init_default_scope('mmpretrain')
    loader = Runner.build_dataloader(loader_cfg(image_root))
    assert loader.sampler.seed is None  # drawn when the first epoch starts
    batches = [b['inputs'][0].numpy().tobytes() for b in loader]
    assert len(batches) == 3 and isinstance(loader.sampler.seed, int)
    seeded = [[b['inputs'][0].numpy().tobytes() for b in
               Runner.build_dataloader(loader_cfg(image_root), seed=7)]
              for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_seedless_sampler_warns_with_the_fix(image_root, monkeypatch):
    import tscae_mm.datasets.seeded as seeded
    logged = []
    monkeypatch.setattr(seeded, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    sampler = SeededSampler(seeded_dataset(image_root))
    keys = list(sampler)
    assert len(keys) == 12 and len({k.seed for k in keys}) == 1
    assert keys[0].seed == sampler.seed
    (message, kwargs), = logged
    assert f'drew {sampler.seed}' in message
    assert 'cannot be reproduced' in message
    assert 'randomness=dict(seed=...)' in message
    assert kwargs['level'] == logging.WARNING
    list(sampler)  # the next epoch keeps the drawn seed, without a warning
    assert len(logged) == 1


@pytest.mark.slow
def test_same_losses_for_0_and_2_workers(tmp_path):
    data_root = write_images(tmp_path / 'data', count=16)
    losses = {}
    for workers in (0, 2):
        config = write_tiny_config(
            tmp_path / f'w{workers}.py',
            data_root,
            num_workers=workers,
            epochs=2)
        work_dir = tmp_path / f'run_w{workers}'
        proc = run_training(config, work_dir)
        assert proc.returncode == 0, describe(proc)
        losses[workers] = read_losses(scalar_logs(work_dir)[-1])
    assert sorted(losses[0]) == list(range(1, 5))
    assert losses[2] == losses[0]
