"""MMEngine Runner with config checks, atomic checkpoints and clear resume.

Select it in a config with ``runner_type = 'ReliableRunner'``; the usual
``tools/train.py`` builds it through ``RUNNERS.build(cfg)``.
"""
import glob
import os
import os.path as osp
import re
from typing import Dict, List, Optional

import torch
from mmengine.dist import is_main_process, master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (
    _load_checkpoint,
    _load_checkpoint_to_model,
)

from ..utils.cpu_threads import configure_cpu_threads, log_cpu_threads
from .config_checks import check_training_config

POINTER_FILE = 'last_checkpoint'
NUMBERED_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
TEMP_SUFFIX = '.tmp-'
MAX_KEYS_SHOWN = 8


class CheckpointMismatchError(ValueError):
    """A checkpoint whose weights do not fit the model being trained."""


@RUNNERS.register_module()
class ReliableRunner(Runner):
    """:class:`mmengine.runner.Runner` that protects long runs.

    - Before anything is built, the config is checked
      (:func:`check_training_config`): a TSCAE config whose image sizes,
      patch sizes and masks disagree is refused, naming the values.
    - Checkpoints on local disk are written to a temporary file in the same
      folder, flushed to disk, then renamed over the final name, so a process
      that dies while writing never leaves a truncated checkpoint under a
      checkpoint's name.
    - ``resume=True`` without ``load_from`` takes the checkpoint that
      ``last_checkpoint`` names, or, if that pointer is missing or broken,
      the newest ``epoch_N.pth`` / ``iter_N.pth`` in the work dir; with no
      checkpoint at all it logs that it starts a fresh run.
    - A checkpoint whose weights do not fit the model (another architecture)
      is refused for ``resume`` and ``load_from``, naming the missing,
      unexpected and differently shaped keys.

    - The CPU thread count is chosen before the model is built and logged
      (:func:`~tscae_mm.utils.cpu_threads.configure_cpu_threads`), also
      when the toolboxes' own ``tools/train.py`` builds this runner.

    Takes the same arguments as :class:`Runner`.
    """
    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get('cfg') is not None:
            check_training_config(kwargs['cfg'])
        configure_cpu_threads()
        super().__init__(*args, **kwargs)
        log_cpu_threads(self.logger)

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        **kwargs) -> None:
        """Save as :meth:`Runner.save_checkpoint`; atomically on local disk.

        Arguments as :meth:`Runner.save_checkpoint`.
        """
        backend = get_file_backend(
            out_dir, backend_args=kwargs.get('backend_args'))
        if file_client_args is not None or not isinstance(
                backend, LocalBackend):
            super().save_checkpoint(out_dir, filename, file_client_args,
                                    **kwargs)
            return
        temp_name = f'{filename}{TEMP_SUFFIX}{os.getpid()}'
        super().save_checkpoint(out_dir, temp_name, **kwargs)
        replace_durably(
            osp.join(out_dir, temp_name), osp.join(out_dir, filename))

    def load_or_resume(self) -> None:
        """Resume or load as configured, saying clearly what happens."""
        if self._has_loaded:
            return
        if self._resume:
            checkpoint = self._load_from or self.latest_checkpoint()
            if checkpoint is None:
                self.logger.info(
                    f'Resume requested, but {self.work_dir} holds no '
                    f'checkpoint (no {POINTER_FILE} file and no epoch_N.pth '
                    'or iter_N.pth): starting a fresh run from epoch 0, '
                    'iteration 0.')
                return
            self.logger.info(f'Resuming from {checkpoint}.')
            remove_unfinished_saves(checkpoint)
            self.resume(checkpoint)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)

    def latest_checkpoint(self) -> Optional[str]:
        """The checkpoint to resume from in the work dir, or None.

        ``last_checkpoint`` wins when it names a complete file; otherwise the
        newest numbered checkpoint is used, with a warning.
        """
        pointed = read_pointer(osp.join(self.work_dir, POINTER_FILE))
        if pointed and is_complete_checkpoint(pointed):
            return pointed
        newest = newest_numbered_checkpoint(self.work_dir)
        if newest is not None:
            self.logger.warning(
                f'{POINTER_FILE} in {self.work_dir} is missing or names no '
                f'complete checkpoint ({pointed!r}); resuming from the '
                f'newest checkpoint file instead: {newest}.')
        return newest

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load as :meth:`Runner.load_checkpoint`, refusing a misfit first.

        Raises:
            CheckpointMismatchError: The checkpoint's weights do not fit the
                model: the missing, unexpected and differently shaped keys
                are named.
        """
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        refuse_mismatching_checkpoint(
            model.state_dict(), revised_state_dict(checkpoint, revise_keys),
            filename)
        _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def replace_durably(temp_path: str, final_path: str) -> None:
    """Flush ``temp_path`` to disk, then rename it over ``final_path``."""
    with open(temp_path, 'rb') as written:
        os.fsync(written.fileno())
    os.replace(temp_path, final_path)
    folder = os.open(osp.dirname(osp.abspath(final_path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def read_pointer(pointer_path: str) -> str:
    """The path ``last_checkpoint`` names, or '' if absent or empty."""
    if not osp.isfile(pointer_path):
        return ''
    with open(pointer_path) as pointer:
        return pointer.read().strip()


def is_complete_checkpoint(path: str) -> bool:
    """True for a non-empty local file, or any non-local checkpoint URI."""
    if not isinstance(get_file_backend(path), LocalBackend):
        return True
    return osp.isfile(path) and osp.getsize(path) > 0


def newest_numbered_checkpoint(folder: str) -> Optional[str]:
    """The most recently written non-empty epoch_N.pth / iter_N.pth."""
    candidates = [
        path for path in glob.glob(osp.join(folder, '*.pth')) if
        NUMBERED_CHECKPOINT.match(osp.basename(path)) and osp.getsize(path) > 0
    ]
    return max(candidates, key=osp.getmtime) if candidates else None


def remove_unfinished_saves(checkpoint: str) -> None:
    """Delete temporary files of saves that a crash interrupted."""
    if not is_main_process() or not isinstance(
            get_file_backend(checkpoint), LocalBackend):
        return
    pattern = osp.join(osp.dirname(checkpoint), f'*{TEMP_SUFFIX}*')
    for leftover in glob.glob(pattern):
        os.remove(leftover)


def revised_state_dict(checkpoint: dict,
                       revise_keys: list) -> Dict[str, torch.Tensor]:
    """The checkpoint's weights with ``revise_keys`` applied to their names.

    Args:
        checkpoint (dict): A loaded checkpoint, with or without a
            ``'state_dict'`` entry.
        revise_keys (list[tuple[str, str]]): (regex, replacement) pairs.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    for pattern, replacement in revise_keys:
        state_dict = {
            re.sub(pattern, replacement, key): value
            for key, value in state_dict.items()
        }
    return state_dict


def listed(keys: List[str]) -> str:
    """Up to MAX_KEYS_SHOWN keys, then how many more."""
    shown = ', '.join(keys[:MAX_KEYS_SHOWN])
    more = len(keys) - MAX_KEYS_SHOWN
    return shown + (f', ... ({more} more)' if more > 0 else '')


def refuse_mismatching_checkpoint(model_state: Dict[str, torch.Tensor],
                                  checkpoint_state: Dict[str, torch.Tensor],
                                  filename: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless the two states fit.

    Args:
        model_state (dict): The model's ``state_dict()``.
        checkpoint_state (dict): The checkpoint's weights, names revised.
        filename (str): The checkpoint, for the message.
    """
    missing = sorted(set(model_state) - set(checkpoint_state))
    unexpected = sorted(set(checkpoint_state) - set(model_state))
    reshaped = [
        f'{key} (checkpoint {tuple(checkpoint_state[key].shape)}, model '
        f'{tuple(model_state[key].shape)})' for key in sorted(model_state)
        if key in checkpoint_state and hasattr(checkpoint_state[key], 'shape')
        and checkpoint_state[key].shape != model_state[key].shape
    ]
    if not (missing or unexpected or reshaped):
        return
    problems = [(missing, 'missing from the checkpoint'),
                (unexpected, 'in the checkpoint but not in the model'),
                (reshaped, 'of another shape')]
    details = ''.join(f'\n  {len(keys)} key(s) {what}: {listed(keys)}'
                      for keys, what in problems if keys)
    raise CheckpointMismatchError(
        f'Refusing checkpoint {filename}: its weights do not fit this '
        f"config's model (a checkpoint of another architecture?).{details}"
        '\nResume or load a checkpoint written with this config; to start '
        'from another model\'s encoder use model.backbone.init_cfg=dict('
        "type='Pretrained', checkpoint=..., prefix='backbone.') instead.")
