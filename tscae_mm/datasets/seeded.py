"""Per-sample randomness: sample i of epoch e is drawn from (seed, e, i) only.

:class:`SeededSampler` yields :class:`SampleKey` ``(seed, epoch, index)``
instead of bare indices, and :class:`SeededDataset` seeds Python's, numpy's
and torch's (CPU) random generators from that key before it runs the inner
dataset's pipeline. The key travels with the index from the main process to
whichever data loader worker loads it, so the crops, flips and masks of a
sample do not depend on the number of processes, the number of workers,
``persistent_workers`` or whether the run was resumed.
"""
import contextlib
import random
from typing import Iterator, NamedTuple, Optional, Sized, Union

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmpretrain.registry import DATA_SAMPLERS, DATASETS

from .robust_loading import pop_skipped_images

# Domain tags that keep the data's and the model's streams apart.
DATA_STREAM = 0  # per sample: (DATA_STREAM, seed, epoch, index)
MODEL_STREAM = 1  # per iteration: (MODEL_STREAM, seed, iteration, rank)


class SampleKey(NamedTuple):
    """What :class:`SeededSampler` yields for one sample.

    Attributes:
        seed (int): The run's seed.
        epoch (int): The epoch the sample is drawn in, from 0.
        index (int): Index of the sample in the wrapped dataset.
    """
    seed: int
    epoch: int
    index: int


def derive_seed(*parts: int) -> int:
    """A 32-bit seed that depends on ``parts`` only (numpy's SeedSequence).

    Args:
        *parts (int): Non-negative integers, e.g. ``(DATA_STREAM, seed,
            epoch, index)``.
    """
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def check_seed(seed: Optional[int], owner: str) -> None:
    """Refuse a seed that numpy cannot use, naming ``owner``."""
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ValueError(f'{owner}: seed must be a non-negative int or None, '
                         f'got {seed!r}.')


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """:class:`DefaultSampler` that yields ``SampleKey(seed, epoch, index)``.

    The order is DefaultSampler's: a permutation drawn from ``seed + epoch``
    (shuffle) that rank r of W reads as ``perm[r::W]``. With a per-rank batch
    of B / W, iteration k of the W ranks together covers ``perm[k*B:(k+1)*B]``,
    the same samples a single process with batch B reads at iteration k.

    Args:
        dataset (Sized): The dataset, normally a :class:`SeededDataset`.
        shuffle (bool): Shuffle the order each epoch. Defaults to True.
        seed (int, optional): The run's seed. The runner passes its own seed
            when ``randomness.diff_rank_seed`` is False; otherwise it passes
            None and :class:`ReproducibleRandomnessHook` sets the runner's
            seed before the first epoch. Defaults to None.
        round_up (bool): Pad the order so every rank reads the same number
            of samples (DefaultSampler's behaviour). Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        check_seed(seed, 'SeededSampler')
        # A placeholder seed keeps DefaultSampler from drawing a random one.
        super().__init__(dataset, shuffle, 0 if seed is None else seed,
                         round_up)
        self.seed = seed

    def __iter__(self) -> Iterator[SampleKey]:
        if self.seed is None:
            raise RuntimeError(
                'SeededSampler has no seed: the runner passes none when '
                'randomness.diff_rank_seed=True. Add '
                "dict(type='ReproducibleRandomnessHook') to custom_hooks (it "
                "sets the runner's seed) or give SeededSampler(seed=...).")
        for index in super().__iter__():
            yield SampleKey(self.seed, self.epoch, index)


@DATASETS.register_module()
class SeededDataset:
    """Run the wrapped dataset's pipeline under a per-sample seed.

    ``dataset[SampleKey(seed, epoch, i)]`` seeds ``random``, ``numpy.random``
    and torch's CPU generator from ``(seed, epoch, i)``, returns the inner
    ``dataset[i]`` and puts the generators' previous states back (so with
    ``num_workers=0`` the main process's own random streams are untouched).
    Retries of the inner dataset after an undecodable image (mmengine's
    ``max_refetch``) draw from the same seeded stream, so they too are
    reproducible. A plain int ``i`` means ``SampleKey(0, 0, i)``, for tools
    that browse the dataset.

    When :class:`LoadImageFromFileSafe` skipped images while producing the
    sample, their paths are added to the packed data sample's metainfo as
    ``skipped_images``; :class:`SkippedImagesHook` reports them.

    Args:
        dataset (dict | BaseDataset): The dataset to wrap, or its config.
        lazy_init (bool): Defer loading the inner dataset's annotations.
            Defaults to False.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 lazy_init: bool = False) -> None:
        self.dataset = (
            DATASETS.build(dataset) if isinstance(dataset, dict) else dataset)
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The inner dataset's metainfo."""
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Fully initialise the inner dataset."""
        self.dataset.full_init()

    def get_data_info(self, index: int) -> dict:
        """The inner dataset's annotation of sample ``index``."""
        return self.dataset.get_data_info(index)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Union[SampleKey, tuple, int]) -> dict:
        seed, epoch, index = (
            key if isinstance(key, tuple) else SampleKey(0, 0, int(key)))
        with seeded_random_state(derive_seed(DATA_STREAM, seed, epoch, index)):
            data = self.dataset[index]
        attach_skipped_images(data, pop_skipped_images())
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(\n{self.dataset!r})'


@contextlib.contextmanager
def seeded_random_state(seed: int) -> Iterator[None]:
    """Seed random, numpy and torch (CPU) with ``seed``; restore on exit.

    Args:
        seed (int): 32-bit seed of the three generators.
    """
    saved = (random.getstate(), np.random.get_state(),
             torch.random.default_generator.get_state())
    random.seed(seed)
    np.random.seed(seed)
    torch.random.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.random.default_generator.set_state(saved[2])


def attach_skipped_images(data: dict, skipped: list) -> None:
    """Record ``skipped`` image paths in ``data``'s packed data sample.

    Args:
        data (dict): A packed sample, ``dict(inputs=..., data_samples=...)``.
        skipped (list[str]): Paths skipped while producing it.
    """
    if skipped and 'data_samples' in data:
        data['data_samples'].set_metainfo(dict(skipped_images=skipped))
