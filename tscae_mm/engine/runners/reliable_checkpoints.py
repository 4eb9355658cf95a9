"""What MMEngine's runners lack around checkpoints, for both of ours.

MMEngine's ``Runner`` and ``FlexibleRunner`` save, load and resume through
their public ``save_checkpoint``, ``load_checkpoint``, ``resume`` and
``load_or_resume``; :class:`ReliableCheckpointsMixin` keeps those and adds
only what they lack:

- Atomic saves (:func:`replace_durably`): MMEngine writes a checkpoint
  straight under its final name, so a process killed while writing leaves a
  truncated file there, and ``last_checkpoint`` may already name it. The
  runners write to a temporary file in the same folder, flush it and rename
  it over the final name; :func:`remove_unfinished_saves` deletes the
  temporary files of interrupted saves when a run resumes.
- A resume that finds its checkpoint (:meth:`~ReliableCheckpointsMixin.
  latest_checkpoint`): MMEngine's ``resume=True`` without ``load_from``
  resumes from whatever ``last_checkpoint`` names, with no fallback when
  that file is missing, empty or names a missing checkpoint, and logs
  "Auto resumed from the latest checkpoint None." when there is none. Here
  a missing or broken pointer falls back to the newest ``epoch_N.pth`` /
  ``iter_N.pth``, and a run with nothing to resume from says that it
  starts afresh.
- A misfit refused before it is loaded (:func:`refuse_mismatching_checkpoint`,
  :class:`CheckpointMismatchError`): MMEngine's ``load_checkpoint`` defaults
  to ``strict=False`` and loads a checkpoint of another architecture with a
  warning; with ``strict=True`` (our default) it raises a ``RuntimeError``
  that lists the keys but neither says what went wrong nor what to do, and
  ``FlexibleRunner.resume`` loads non-strictly whatever is asked. The
  misfit is named (missing, unexpected and differently shaped keys) with
  the fix, for ``resume`` and ``load_from``, under every strategy.
"""
import contextlib
import glob
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.model import is_model_wrapper

POINTER_FILE = 'last_checkpoint'
NUMBERED_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
TEMP_SUFFIX = '.tmp-'
MAX_KEYS_SHOWN = 8
MODULE_PREFIX = [(r'^module\.', '')]


class CheckpointMismatchError(ValueError):
    """A checkpoint whose weights do not fit the model being trained."""


class ReliableCheckpointsMixin:
    """Resume and load for a subclass of MMEngine's ``Runner`` or
    ``FlexibleRunner`` (listed first among its bases); see the module
    docstring for what it adds to them."""

    def load_or_resume(self) -> None:
        """As MMEngine's ``load_or_resume``, with ``resume=True`` and no
        ``load_from`` resuming from :meth:`latest_checkpoint`, or starting
        afresh and saying so."""
        if not self._has_loaded and self._resume is True:
            if self._load_from is None:
                self._load_from = self.latest_checkpoint()
            if self._load_from is None:
                self.logger.info(
                    f'Resume requested, but {self.work_dir} holds no '
                    f'checkpoint (no {POINTER_FILE} file and no epoch_N.pth '
                    'or iter_N.pth): starting a fresh run from epoch 0, '
                    'iteration 0.')
                self._resume = False
            else:
                self.logger.info(f'Resuming from {self._load_from}.')
                remove_unfinished_saves(self._load_from)
        super().load_or_resume()

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
                        strict: bool = True,
                        revise_keys: list = [(r'^module.', '')]):
        """MMEngine's ``load_checkpoint``, strict by default, refusing a
        misfit first (:class:`CheckpointMismatchError`).

        Arguments as MMEngine's, except ``strict`` (MMEngine: False).
        """
        with self._loading(filename, revise_keys):
            return super().load_checkpoint(
                filename,
                map_location=map_location,
                strict=strict,
                revise_keys=revise_keys)

    def resume(self, filename: str, *args, **kwargs) -> None:
        """MMEngine's ``resume``, refusing a misfit first."""
        with self._loading(filename, MODULE_PREFIX):
            super().resume(filename, *args, **kwargs)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Call the hooks; after ``after_load_checkpoint`` (the runner loads
        the weights right after it), refuse a checkpoint that does not fit
        the model."""
        super().call_hook(fn_name, **kwargs)
        if (fn_name == 'after_load_checkpoint' and 'checkpoint' in kwargs
                and self.checks_checkpoint_weights()):
            filename, revise_keys = getattr(
                self, '_checkpoint_loading', None) or ('being loaded',
                                                       MODULE_PREFIX)
            refuse_mismatching_checkpoint(
                self.model_state_shapes(),
                revised_state_dict(kwargs['checkpoint'], revise_keys),
                filename)

    def checks_checkpoint_weights(self) -> bool:
        """Whether a loaded checkpoint holds the full model's weights, to be
        compared with :meth:`model_state_shapes`."""
        return True

    def model_state_shapes(self) -> Dict[str, torch.Tensor]:
        """The model's ``state_dict()`` (or tensors of its shapes)."""
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        return model.state_dict()

    @contextlib.contextmanager
    def _loading(self, filename: str, revise_keys: list) -> Iterator[None]:
        """Name the checkpoint being loaded for :meth:`call_hook`."""
        outer = getattr(self, '_checkpoint_loading', None)
        self._checkpoint_loading = (filename, revise_keys)
        try:
            yield
        finally:
            self._checkpoint_loading = outer


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
