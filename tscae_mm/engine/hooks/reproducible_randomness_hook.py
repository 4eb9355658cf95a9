"""Make every random draw of a run a function of the seed and its position."""
import random

import numpy as np
import torch
from mmengine.dist import broadcast_object_list, get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...datasets.seeded import MODEL_STREAM, SeededSampler, derive_seed


@HOOKS.register_module()
class ReproducibleRandomnessHook(Hook):
    """Seed the data per sample and the model per iteration and rank.

    - Before training, a :class:`SeededSampler` without a seed gets the
      run's seed (``randomness.seed``, as rank 0 holds it; the runner passes
      samplers no seed when ``randomness.diff_rank_seed=True``), so the
      crops and masks of sample i in epoch e come from ``(seed, e, i)``.
    - Before each iteration (if ``reseed_model``), Python's, numpy's and
      torch's global generators of this process are seeded from
      ``(seed, iteration, rank)``: dropout and drop-path then draw the same
      numbers in an uninterrupted and in a resumed run, and no two ranks
      share a stream.

    Args:
        reseed_model (bool): Reseed the global generators every iteration.
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, reseed_model: bool = True) -> None:
        self.reseed_model = reseed_model

    def before_train(self, runner) -> None:
        """Take the run's seed; give it to a seedless SeededSampler."""
        self.seed = run_seed(runner)
        sampler = runner.train_dataloader.sampler
        if isinstance(sampler, SeededSampler):
            if sampler.seed is None:
                sampler.seed = self.seed
            runner.logger.info(
                f'Per-sample randomness: sample i of epoch e is drawn from '
                f'(seed={sampler.seed}, e, i), whatever the number of '
                'processes and data loader workers.')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Seed this process's global generators for this iteration."""
        if not self.reseed_model:
            return
        seed = derive_seed(MODEL_STREAM, self.seed, runner.iter, get_rank())
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)


def run_seed(runner) -> int:
    """The seed shared by all ranks: rank 0's ``runner.seed``.

    With ``randomness.diff_rank_seed=True`` MMEngine adds the rank to each
    process's seed, so only rank 0 holds the configured seed.
    """
    seed = [runner.seed]
    broadcast_object_list(seed, src=0)
    return seed[0]
