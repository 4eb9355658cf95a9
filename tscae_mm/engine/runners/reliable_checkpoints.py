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
  "Auto resumed from the latest checkpoint None." when there is none; a
  pointer holding binary junk stops it with a bare ``UnicodeDecodeError``
  and a truncated checkpoint with torch's "failed finding central
  directory". Here (:func:`find_resume_checkpoint`) a missing, unreadable
  or broken pointer, or a pointer naming a truncated file, falls back to
  the newest intact ``epoch_N.pth`` / ``iter_N.pth`` with a warning naming
  the bad file; a checkpoint given by path that is not intact stops the run
  before it loads, naming the newest intact one; nothing is deleted. A run
  with nothing to resume from says that it starts afresh.
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
import zipfile
from typing import Callable, Dict, Iterator, List, Optional, Tuple

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


class IncompleteCheckpointError(ValueError):
    """A checkpoint file that is truncated or otherwise not loadable, or a
    work dir that holds no intact checkpoint to resume from."""


class ReliableCheckpointsMixin:
    """Resume and load for a subclass of MMEngine's ``Runner`` or
    ``FlexibleRunner`` (listed first among its bases); see the module
    docstring for what it adds to them."""

    def load_or_resume(self) -> None:
        """As MMEngine's ``load_or_resume``, with ``resume=True`` and no
        ``load_from`` resuming from :meth:`latest_checkpoint`, or starting
        afresh and saying so; a given checkpoint that is not intact is
        refused before it is read (:func:`refuse_incomplete_checkpoint`)."""
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
                refuse_incomplete_checkpoint(self._load_from, resume=True)
                self.logger.info(f'Resuming from {self._load_from}.')
                remove_unfinished_saves(self._load_from)
        elif not self._has_loaded and self._load_from is not None:
            refuse_incomplete_checkpoint(self._load_from, resume=False)
        super().load_or_resume()

    def latest_checkpoint(self) -> Optional[str]:
        """The checkpoint to resume from in the work dir, or None
        (:func:`find_resume_checkpoint`; its warnings go to the log)."""
        return find_resume_checkpoint(self.work_dir, self.logger.warning)

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


def read_pointer(pointer_path: str) -> Tuple[str, Optional[str]]:
    """``(path, problem)`` of ``last_checkpoint``: the path it names ('' if
    the file is absent or empty) and, when it is not a readable path, why
    (``problem``; ``path`` is then '')."""
    if not osp.isfile(pointer_path):
        return '', None
    with open(pointer_path, 'rb') as pointer:
        content = pointer.read()
    try:
        text = content.decode('utf-8').strip()
    except UnicodeDecodeError:
        text = None
    if text is None or not text.isprintable():
        return '', (f'holds {len(content)} bytes of binary data, not the '
                    'path of a checkpoint')
    return text, None


def checkpoint_problem(path: str) -> Optional[str]:
    """Why the local checkpoint ``path`` cannot be loaded, or None when it
    looks intact (non-local URIs are not checked).

    Cheap: reads the zip directory at the end of the file that
    ``torch.save`` writes (a truncated file has none), not the weights.
    """
    if not is_local(path):
        return None
    if not osp.isfile(path):
        return 'it does not exist'
    size = osp.getsize(path)
    if size == 0:
        return 'it is empty (0 bytes)'
    with open(path, 'rb') as file:
        magic = file.read(4)
    if magic != b'PK\x03\x04':
        # not torch's zip format: a legacy pickle (torch.save with
        # _use_new_zipfile_serialization=False) is loaded as it is
        return None if magic[:1] == b'\x80' else (
            f'it is not a checkpoint written by torch.save ({size} bytes, '
            f'beginning {magic!r})')
    try:
        with zipfile.ZipFile(path) as archive:
            ends = [
                entry.header_offset + entry.compress_size
                for entry in archive.infolist()
            ]
    except (zipfile.BadZipFile, OSError, ValueError):
        return (f'it is truncated or corrupted ({size} bytes, and the zip '
                'directory torch.save writes at its end is missing: the '
                'write or copy did not finish)')
    if not ends or max(ends) > size:
        return f'it is truncated or corrupted ({size} bytes)'
    return None


def is_local(path: str) -> bool:
    """Whether ``path`` is a local file path (not a URI of another
    back-end, such as ``s3://`` or ``https://``)."""
    try:
        return isinstance(get_file_backend(path), LocalBackend)
    except Exception:  # a prefix MMEngine does not know: not ours to check
        return False


def is_complete_checkpoint(path: str) -> bool:
    """True for an intact local file (:func:`checkpoint_problem`), or any
    non-local checkpoint URI."""
    return checkpoint_problem(path) is None


def numbered_checkpoints(folder: str) -> List[str]:
    """The folder's epoch_N.pth / iter_N.pth, most recently written first."""
    candidates = [
        path for path in glob.glob(osp.join(folder, '*.pth'))
        if NUMBERED_CHECKPOINT.match(osp.basename(path))
    ]

    def newest_first(path):
        match = NUMBERED_CHECKPOINT.match(osp.basename(path))
        return (-osp.getmtime(path), -int(match.group(2)))

    return sorted(candidates, key=newest_first)


def newest_numbered_checkpoint(folder: str) -> Optional[str]:
    """The most recently written intact epoch_N.pth / iter_N.pth."""
    return next((path for path in numbered_checkpoints(folder)
                 if is_complete_checkpoint(path)), None)


def find_resume_checkpoint(
        work_dir: str,
        warn: Callable[[str], None]) -> Optional[str]:
    """The checkpoint ``--resume`` (no path) resumes from in ``work_dir``.

    ``last_checkpoint`` wins when it names an intact file. Otherwise the
    newest intact numbered checkpoint is taken, and ``warn`` is called with
    a message naming each bad file (the pointer, and the checkpoints passed
    over); nothing is deleted.

    Returns:
        The checkpoint, or None when the work dir holds none (no pointer,
        or an empty one, and no numbered checkpoint).

    Raises:
        IncompleteCheckpointError: The pointer or checkpoints exist but
            none is intact.
    """
    pointer_path = osp.join(work_dir, POINTER_FILE)
    pointed, pointer_problem = read_pointer(pointer_path)
    if pointed and pointer_problem is None:
        problem = checkpoint_problem(pointed)
        if problem is None:
            return pointed
        pointer_problem = f'names {pointed}, but {problem}'
    bad = [f'{pointer_path} {pointer_problem}'] if pointer_problem else []
    if not pointed and pointer_problem is None and osp.isfile(pointer_path):
        bad.append(f'{pointer_path} is empty')
    for path in numbered_checkpoints(work_dir):
        problem = checkpoint_problem(path)
        if problem is None:
            if bad:
                warn('Resume: ' + '; '.join(bad) + '. Resuming from the '
                     f'newest intact checkpoint instead: {path}. Nothing '
                     'was deleted; remove the bad file(s) yourself once you '
                     'no longer need them.')
            return path
        if not pointed or osp.abspath(path) != osp.abspath(pointed):
            bad.append(f'{path} is not intact: {problem}')
    if not bad or bad == [f'{pointer_path} is empty']:
        return None
    raise IncompleteCheckpointError(
        f'Resume requested, but {work_dir} holds no intact checkpoint: '
        + '; '.join(bad) + '. Nothing was deleted. Resume from a checkpoint '
        'you know is intact with --resume PATH (cfg.load_from=PATH, '
        'resume=True), or move the broken files away and train without '
        '--resume to start afresh.')


def refuse_incomplete_checkpoint(path: str, resume: bool) -> None:
    """Raise :class:`IncompleteCheckpointError` when the checkpoint given
    (``load_from``, or ``--resume PATH``) is not intact, naming the newest
    intact checkpoint in its folder."""
    problem = checkpoint_problem(path)
    if problem is None:
        return
    action = 'resume from' if resume else 'load'
    folder = osp.dirname(osp.abspath(path))
    intact = newest_numbered_checkpoint(folder) if osp.isdir(folder) else None
    if intact is not None:
        option = (f'--resume {intact}' if resume else f'load_from={intact!r}')
        hint = (f'The newest intact checkpoint in {folder} is {intact}: '
                f'{action} it ({option})')
        if resume:
            hint += (', or give --resume without a path to resume from '
                     'the newest intact checkpoint of the work dir')
    else:
        hint = f'No intact epoch_N.pth / iter_N.pth is in {folder} either'
    raise IncompleteCheckpointError(
        f'Cannot {action} checkpoint {path}: {problem}. {hint}. Nothing was '
        'deleted.')


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
    matched = len(model_state) - len(missing) - len(reshaped)
    raise CheckpointMismatchError(
        f'Refusing checkpoint {filename}: its weights do not fit this '
        f"config's model (a checkpoint of another architecture?): "
        f'{matched} of the model\'s {len(model_state)} weights match.'
        f'{details}'
        '\nResume or load a checkpoint written with this config; to start '
        'from another model\'s encoder use model.backbone.init_cfg=dict('
        "type='Pretrained', checkpoint=..., prefix='backbone.') instead.")
