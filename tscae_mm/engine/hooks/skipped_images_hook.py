"""Report the images that LoadImageFromFileSafe skipped, across workers and
ranks, with a running count in the training log."""
import logging
from typing import List

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

SKIPPED_IMAGES_KEY = 'train/skipped_images'


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Log each skipped undecodable image; count them as ``skipped_images``.

    Data loader workers are separate processes, so the skipped paths travel
    with the batch: :class:`SeededDataset` stores them in the data samples'
    metainfo (``skipped_images``). After each iteration this hook gathers
    them from all ranks, logs them by name (with the rank that skipped each,
    in a multi-process run), and keeps the total of the run as the
    ``skipped_images`` entry of every log line (0 while nothing was
    skipped); the total is saved in checkpoints and continues on resume.
    Why a file was skipped is logged by the process that skipped it, on its
    own rank (:class:`LoadImageFromFileSafe`).
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        """Start the count at 0 unless a resumed run already has one."""
        if SKIPPED_IMAGES_KEY not in runner.message_hub.log_scalars:
            runner.message_hub.update_scalar(SKIPPED_IMAGES_KEY, 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Gather, log and count this iteration's skipped images."""
        skipped = gather_from_ranks(skipped_in_batch(data_batch))
        if not skipped:
            return
        hub = runner.message_hub
        total = int(
            hub.get_scalar(SKIPPED_IMAGES_KEY).current()) + len(skipped)
        hub.update_scalar(SKIPPED_IMAGES_KEY, total)
        runner.logger.log(
            logging.WARNING,
            f'{len(skipped)} undecodable image(s) skipped in iteration '
            f'{runner.iter + 1} and replaced by other samples: '
            f'{", ".join(skipped)}. {total} image(s) skipped in this run '
            '(skipped_images in the log); the reason for each was logged by '
            'the rank that skipped it.')


def skipped_in_batch(data_batch) -> List[str]:
    """Paths recorded in the batch's data samples' ``skipped_images``."""
    if not isinstance(data_batch, dict):
        return []
    return [
        path for sample in data_batch.get('data_samples') or []
        for path in sample.metainfo.get('skipped_images', [])
    ]


def gather_from_ranks(paths: List[str]) -> List[str]:
    """All ranks' ``paths``, each followed by ``(rank r)`` in a
    multi-process run; one small all-reduce when nothing was skipped."""
    if get_world_size() == 1:
        return paths
    count = torch.tensor([len(paths)], dtype=torch.float32)
    all_reduce(count)
    if count.item() == 0:
        return []
    return [
        f'{path} (rank {rank})'
        for rank, part in enumerate(all_gather_object(paths)) for path in part
    ]
