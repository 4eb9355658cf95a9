"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` only unpickles tensors, containers and the
globals on an allow-list. MMEngine 0.10.7 calls ``torch.load`` without
``weights_only``, and the checkpoints its Runner writes hold more than tensors:

- ``message_hub``: ``mmengine.logging.HistoryBuffer`` objects whose state names
  the buffer's statistics methods (``min``, ``max``, ``current``, ``mean``).
  Pickle stores each one as ``builtins.getattr(HistoryBuffer, 'min')``.
- ``meta`` and ``message_hub``: numpy arrays, numpy scalars and their dtypes.

:func:`register_checkpoint_safe_globals` allow-lists exactly these: the
numpy array / scalar / dtype constructors, ``HistoryBuffer``, and, registered
under the name ``builtins.getattr``, :func:`history_buffer_method_getattr`,
which only returns those four methods of ``HistoryBuffer`` and refuses every
other attribute lookup. ``weights_only`` stays ``True``: a checkpoint holding
any other pickled object (an instance of another class, a reduce call to
``os.system``) is refused with :class:`UnsafeCheckpointError`, which names the
offending global.

A file you trust can still be loaded in full (this runs whatever code the file
holds) in one of two ways:

- set the environment variable ``TSCAE_ALLOW_UNSAFE_CHECKPOINT_LOAD=1`` (for
  ``tools/train.py`` / ``tools/test.py`` runs), or
- wrap the load in ``with tscae_mm.utils.allow_unsafe_checkpoint_load():``.

Torch's own switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` is honoured too.
"""
import contextlib
import importlib
import os
import pickle
import re
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.utils import digit_version

ALLOW_UNSAFE_ENV = 'TSCAE_ALLOW_UNSAFE_CHECKPOINT_LOAD'
TORCH_NO_WEIGHTS_ONLY_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
_TRUE_VALUES = ('1', 'y', 'yes', 'true', 'on')

# Methods HistoryBuffer registers itself in ``_statistics_methods`` (and so
# pickles with its message hub). Custom statistics registered with
# ``HistoryBuffer.register_statistics`` are plain functions, not getattr calls.
HISTORY_BUFFER_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))

_unsafe_load_depth = 0
_registered = False

SafeGlobal = Union[Callable, Tuple[Callable, str]]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the safe allow-list."""


def history_buffer_method_getattr(owner: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    Args:
        owner: The object pickle asks an attribute of; must be the
            ``HistoryBuffer`` class.
        name: The attribute's name; must be one of
            ``HISTORY_BUFFER_STATISTICS``.

    Returns:
        The ``HistoryBuffer`` statistics method, e.g. ``HistoryBuffer.mean``.

    Raises:
        UnsafeCheckpointError: for any other owner or attribute.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(owner, name)
    raise UnsafeCheckpointError(
        f'Unsupported call: GLOBAL builtins.getattr({owner!r}, {name!r}); '
        'only getattr(HistoryBuffer, name) with name in '
        f'{sorted(HISTORY_BUFFER_STATISTICS)} is allowed.')


def _numpy_multiarray_globals() -> List[SafeGlobal]:
    """numpy's array and scalar constructors under numpy 1.x and 2.x names.

    numpy 2 moved ``numpy.core`` to ``numpy._core``; a checkpoint names the
    module of the numpy version that wrote it.
    """
    try:
        multiarray = importlib.import_module('numpy._core.multiarray')
    except ImportError:
        multiarray = importlib.import_module('numpy.core.multiarray')
    return [(getattr(multiarray, func), f'{module}.multiarray.{func}')
            for module in ('numpy._core', 'numpy.core')
            for func in ('scalar', '_reconstruct')]


def _numpy_dtype_classes() -> List[type]:
    """The classes of numpy dtype instances (``numpy.dtypes.Float64DType``...).

    Unpickling a dtype sets its state, which torch only allows for instances
    of allow-listed classes.
    """
    return [
        cls for cls in vars(np.dtypes).values()
        if isinstance(cls, type) and issubclass(cls, np.dtype)
    ]


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The globals an MMEngine Runner checkpoint needs beyond torch's defaults.

    Returns:
        Items for ``torch.serialization.add_safe_globals``: callables, or
        ``(callable, full_name)`` pairs where the name in the pickle differs
        from the callable's own.
    """
    return [
        np.ndarray,
        np.dtype,
        *_numpy_dtype_classes(),
        *_numpy_multiarray_globals(),
        HistoryBuffer,
        (history_buffer_method_getattr, 'builtins.getattr'),
    ]


def unsafe_checkpoint_load_allowed() -> bool:
    """Whether the user opted in to full (unsafe) unpickling right now."""
    env_opt_in = any(
        os.environ.get(var, '0').strip().lower() in _TRUE_VALUES
        for var in (ALLOW_UNSAFE_ENV, TORCH_NO_WEIGHTS_ONLY_ENV))
    return env_opt_in or _unsafe_load_depth > 0


@contextlib.contextmanager
def allow_unsafe_checkpoint_load() -> Iterator[None]:
    """Load trusted checkpoints with ``weights_only=False`` inside this block.

    Only use it for files you trust: unpickling them can run arbitrary code.

    Example:
        >>> with allow_unsafe_checkpoint_load():
        ...     runner.load_checkpoint('trusted_old_format.pth')
    """
    global _unsafe_load_depth
    _unsafe_load_depth += 1
    try:
        yield
    finally:
        _unsafe_load_depth -= 1


def _offending_global(reason: str) -> Optional[str]:
    """The global, class or getattr call named in torch's refusal message."""
    for pattern in (r'GLOBAL ([\w.]+(?:\([^)]*\))?)',
                    r"got <class '([\w.]+)'>", r'unrecognized function (\S+)'):
        match = re.search(pattern, reason)
        if match:
            return match.group(1)
    return None


def _refusal(filename: str,
             error: pickle.UnpicklingError) -> UnsafeCheckpointError:
    """Turn torch's refusal into an error that says what to do about it."""
    reason = str(error)
    offending = _offending_global(reason)
    what = (f'the pickled global `{offending}`'
            if offending else 'a pickled object')
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {filename}: it holds {what}, which is '
        'not on the allow-list of safe types (torch.load(weights_only=True); '
        'tscae_mm allows tensors, numpy arrays/scalars and MMEngine message '
        'hubs). If you trust this file, opt in to full unpickling, which can '
        f'run code stored in the file: set {ALLOW_UNSAFE_ENV}=1 in the '
        'environment, or load it inside '
        '`with tscae_mm.utils.allow_unsafe_checkpoint_load():`.\n'
        f'torch said: {reason}')


def load_from_local_safe(filename: str, map_location=None) -> Any:
    """MMEngine's loader for local files, with safe unpickling.

    Replaces MMEngine's ``load_from_local`` (the name's ``load_from_`` prefix
    is what MMEngine drops when it logs the backend: ``local_safe``).

    Args:
        filename: Path of the checkpoint (``~`` is expanded).
        map_location: As for ``torch.load``.

    Returns:
        The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file holds objects outside the allow-list
            and the user did not opt in to unsafe loading.
    """
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    weights_only = not unsafe_checkpoint_load_allowed()
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as error:
        if not weights_only:
            raise
        raise _refusal(filename, error) from error


def loads_weights_only_by_default(version: str = torch.__version__) -> bool:
    """Whether ``torch.load`` defaults to ``weights_only=True`` (torch 2.6
    and later), which is when MMEngine's own loads need the allow-list."""
    return digit_version(version) >= digit_version('2.6.0')


def register_checkpoint_safe_globals() -> None:
    """Allow-list MMEngine checkpoint contents and install the safe loader.

    Idempotent: later calls do nothing. Afterwards ``torch.load`` (whoever
    calls it) accepts Runner checkpoints with ``weights_only=True``, and
    MMEngine's local-file loader (used by ``load_checkpoint``, ``load_from``,
    ``resume`` and ``init_cfg=dict(type='Pretrained')``) reports refused
    files with :class:`UnsafeCheckpointError` and honours the opt-in.

    On torch < 2.6, whose ``torch.load`` does not default to
    ``weights_only=True``, MMEngine's loading works as it is and nothing is
    changed.
    """
    global _registered
    if _registered:
        return
    if not loads_weights_only_by_default():
        _registered = True
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safe, force=True)
    _registered = True
