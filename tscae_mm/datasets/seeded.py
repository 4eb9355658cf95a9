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
import copy
import logging
import random
from typing import Iterator, NamedTuple, Optional, Sized, Union

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.dist import sync_random_seed
from mmengine.logging import print_log
from mmpretrain.registry import DATA_SAMPLERS, DATASETS

from .transforms import pop_skipped_images

# Domain tags that keep the data's and the model's streams apart.
DATA_STREAM = 0  # per sample: (DATA_STREAM, seed, epoch, index)
MODEL_STREAM = 1  # per iteration: (MODEL_STREAM, seed, iteration, rank)
# Keys that SeededDataset passes on to the dataset it wraps, so that they work
# where OpenMMLab configs usually set them: train_dataloader.dataset.<key>.
FORWARDED_KEYS = ('data_root', 'ann_file', 'data_prefix', 'pipeline',
                  'with_label')


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
            seed before the first epoch. Still None when the first epoch
            starts (e.g. ``Runner.build_dataloader(cfg)`` without a seed):
            a random seed shared by the ranks is drawn, as
            :class:`DefaultSampler` does, and a warning says the run is not
            reproducible. Defaults to None.
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
            self.seed = sync_random_seed()
            print_log(
                f'SeededSampler got no seed, so it drew {self.seed} (shared '
                'by the ranks): the data order, crops and masks of this run '
                'cannot be reproduced. Set randomness=dict(seed=...) in the '
                'config (with randomness.diff_rank_seed=True, add '
                "dict(type='ReproducibleRandomnessHook') to custom_hooks) or "
                'give SeededSampler(seed=...).',
                logger='current',
                level=logging.WARNING)
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

    The keys of :data:`FORWARDED_KEYS` (``data_root``, ``ann_file``,
    ``data_prefix``, ``pipeline``, ``with_label``) given to the wrapper are
    put into the wrapped dataset's config, so
    ``train_dataloader.dataset.data_root=...`` works as in any OpenMMLab
    config; where the wrapped config has the key too, the wrapper's value
    wins and a log line says so. Any other key is refused with the name to
    set instead (``train_dataloader.dataset.dataset.<key>``).

    Args:
        dataset (dict | BaseDataset): The dataset to wrap, or its config.
        lazy_init (bool): Defer loading the inner dataset's annotations.
            Defaults to False.
        **inner_args: Values of :data:`FORWARDED_KEYS` for the wrapped
            dataset (which must then be given as a config dict).

    Raises:
        TypeError: A key that is not forwarded, or forwarded keys with an
            already built ``dataset``.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 lazy_init: bool = False,
                 **inner_args) -> None:
        if isinstance(dataset, dict):
            self.dataset = DATASETS.build(
                inner_dataset_config(dataset, inner_args, log=True))
        else:
            refuse_inner_args_for_built(dataset, inner_args)
            self.dataset = dataset
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


def inner_dataset_config(dataset: dict,
                         inner_args: dict,
                         log: bool = False) -> dict:
    """The wrapped dataset's config with the wrapper's forwarded keys set.

    Args:
        dataset (dict): Config of the wrapped dataset (not changed).
        inner_args (dict): Keys given to :class:`SeededDataset` besides
            ``dataset`` and ``lazy_init``.
        log (bool): Log each value that replaces one of ``dataset``.

    Raises:
        TypeError: A key of ``inner_args`` is not in :data:`FORWARDED_KEYS`.
    """
    refuse_unknown_keys(inner_args)
    merged = copy.deepcopy(dataset)
    for key, value in inner_args.items():
        if log and key in merged and merged[key] != value:
            print_log(
                f'SeededDataset: {key} set on the wrapper '
                f'({brief(value)}) replaces the wrapped dataset\'s {key} '
                f'({brief(merged[key])}).',
                logger='current')
        merged[key] = value
    return merged


def refuse_unknown_keys(inner_args: dict) -> None:
    """Name the keys SeededDataset cannot forward and where they belong."""
    unknown = [key for key in inner_args if key not in FORWARDED_KEYS]
    if unknown:
        where = ', '.join(f'train_dataloader.dataset.dataset.{key}'
                          for key in unknown)
        raise TypeError(
            f'SeededDataset got {", ".join(map(repr, unknown))}, which it '
            'does not pass on: it wraps the real dataset, configured under '
            f'its `dataset` key. Set {where} instead (in a child config: '
            'train_dataloader = dict(dataset=dict(dataset=dict(...)))). '
            'SeededDataset itself takes dataset, lazy_init and '
            f'{", ".join(FORWARDED_KEYS)} (passed on to the wrapped dataset).')


def refuse_inner_args_for_built(dataset: object, inner_args: dict) -> None:
    """Forwarded keys need a dataset config, not a built dataset."""
    refuse_unknown_keys(inner_args)
    if inner_args:
        raise TypeError(
            f'SeededDataset got {", ".join(sorted(inner_args))} with an '
            f'already built dataset ({type(dataset).__name__}); they can '
            'only be passed on to a dataset config (a dict). Give them to '
            'that dataset when you build it.')


def brief(value) -> str:
    """A short description of a config value for a log line."""
    if isinstance(value, (list, tuple)):
        return f'a list of {len(value)} entries'
    return repr(value)


@contextlib.contextmanager
def preserved_random_state() -> Iterator[None]:
    """Restore random's, numpy's and torch's (CPU) generators on exit: what
    runs inside consumes nothing from the streams outside."""
    saved = (random.getstate(), np.random.get_state(),
             torch.random.default_generator.get_state())
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.random.default_generator.set_state(saved[2])


@contextlib.contextmanager
def seeded_random_state(seed: int) -> Iterator[None]:
    """Seed random, numpy and torch (CPU) with ``seed``; restore on exit.

    Args:
        seed (int): 32-bit seed of the three generators.
    """
    with preserved_random_state():
        random.seed(seed)
        np.random.seed(seed)
        torch.random.default_generator.manual_seed(seed)
        yield


def attach_skipped_images(data: dict, skipped: list) -> None:
    """Record ``skipped`` image paths in ``data``'s packed data sample.

    Args:
        data (dict): A packed sample, ``dict(inputs=..., data_samples=...)``.
        skipped (list[str]): Paths skipped while producing it.
    """
    if skipped and 'data_samples' in data:
        data['data_samples'].set_metainfo(dict(skipped_images=skipped))
