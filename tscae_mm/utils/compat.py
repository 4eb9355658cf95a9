"""Every workaround for MMEngine 0.10.7 and torch >= 2.6, in one place.

Each workaround below names the upstream behaviour it works around and runs
only where its guard says that behaviour is present:

- :func:`loads_weights_only_by_default` (torch >= 2.6): MMEngine's checkpoint
  loading and the checkpoints its Runner writes (section 1).
- :func:`mmengine_needs_workarounds` (MMEngine <= 0.10.7, the newest release
  checked): CPU-only distributed launches (section 2) and MMEngine's
  ``FSDPStrategy`` (section 3). ``tests/test_utils/test_compat.py`` fails on a
  newer MMEngine, so that each of these is checked again on an upgrade and
  removed once MMEngine no longer needs it.
- :func:`fsdp_gathers_optimizer_states_into_one_buffer` (torch with FSDP's
  ``_optim_utils._unflatten_orig_param_states``): FSDP's full optimizer
  state on a CPU compute device (section 3).

Nothing here runs at import. ``import tscae_mm`` calls
:func:`register_checkpoint_safe_globals`; :mod:`tscae_mm.utils.launch` and
:class:`~tscae_mm.engine.TSCAEFSDPStrategy` call the rest.

1. Checkpoints under ``torch.load(weights_only=True)``
------------------------------------------------------

Since torch 2.6, ``torch.load`` only unpickles tensors, containers and the
globals on an allow-list. MMEngine 0.10.7 calls ``torch.load`` without
``weights_only`` (``mmengine.runner.checkpoint.load_from_local``; reported as
open-mmlab/mmengine#1655, "torch.load weights_only error", and
open-mmlab/mmengine#1650, an open pull request that passes
``weights_only=False``), and the checkpoints its Runner writes hold more than
tensors:

- ``message_hub``: ``mmengine.logging.HistoryBuffer`` objects whose state names
  the buffer's statistics methods (``min``, ``max``, ``current``, ``mean``).
  Pickle stores each one as ``builtins.getattr(HistoryBuffer, 'min')``.
- ``meta`` and ``message_hub``: numpy arrays, numpy scalars and their dtypes.

:func:`register_checkpoint_safe_globals` allow-lists exactly these: the
numpy array / scalar / dtype constructors, ``HistoryBuffer``, and, registered
under the name ``builtins.getattr``, :func:`history_buffer_method_getattr`,
which only returns those four methods of ``HistoryBuffer`` and refuses every
other attribute lookup. ``weights_only`` stays ``True`` (rather than
``False``, as mmengine#1650 proposes): a checkpoint holding any other pickled
object (an instance of another class, a reduce call to ``os.system``) is
refused with :class:`UnsafeCheckpointError`, which names the offending global.

A file you trust can still be loaded in full (this runs whatever code the file
holds) in one of two ways:

- set the environment variable ``TSCAE_ALLOW_UNSAFE_CHECKPOINT_LOAD=1`` (for
  ``tools/train.py`` / ``tools/test.py`` runs), or
- wrap the load in ``with tscae_mm.utils.allow_unsafe_checkpoint_load():``.

Torch's own switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` is honoured too.

2. Distributed runs without CUDA
--------------------------------

MMEngine 0.10.7 assumes an accelerator for ``--launcher pytorch``:
``mmengine.dist.init_dist`` (``_init_dist_pytorch``) calls
``torch.cuda.set_device(local_rank)`` before it starts the process group, and
``Runner.wrap_model`` gives ``MMDistributedDataParallel``
``device_ids=[LOCAL_RANK]``, which PyTorch's DDP refuses for a CPU module.
Without CUDA, :func:`init_cpu_process_group` starts the gloo process group
from torchrun's variables (MMEngine then starts none) and
:func:`cpu_ddp_wrapper_cfg` gives the DDP wrapper ``device_ids=None``.

3. FSDP through MMEngine's ``FSDPStrategy``
-------------------------------------------

MMEngine 0.10.7's ``FSDPStrategy``:

- wraps the model with ``device_id=int(LOCAL_RANK)``, a CUDA device index:
  :func:`fsdp_wrapper_for_cpu` passes ``torch.device('cpu')`` instead and
  drops FSDP's ``mixed_precision`` (bfloat16 collectives are a GPU feature
  here; CPU mixed precision is ``--amp``'s autocast);
- calls ``FSDP.optim_state_dict_to_load(state_dict, model, optimizer)``
  positionally, in the argument order from before pytorch/pytorch#96534,
  which made it ``(model, optim, optim_state_dict)``: MMEngine's resume of
  an FSDP run fails on the torch versions since. Its ``optim_state_dict``
  also hands FSDP the optimizer *wrapper* where FSDP expects the optimizer.
  :func:`fsdp_optim_state_dict` and :func:`fsdp_optim_state_dict_to_load`
  call FSDP by keyword with the optimizer itself (correct on every torch
  this package supports, so they need no guard of their own).

And torch's ``FSDP.optim_state_dict`` (``_optim_utils.
_allgather_orig_param_states``) all-gathers each optimizer state of a flat
parameter into one buffer that it reuses for the next state, and counts on
the offload to CPU (``.cpu()``) to copy the values out. When the compute
device is the CPU, ``.cpu()`` copies nothing, so every state is left a view
of the last one gathered: measured on torch 2.14.1, the saved ``exp_avg`` of
AdamW equalled ``exp_avg_sq`` and a resumed run diverged from the
uninterrupted one. :func:`own_gathered_optimizer_states` copies the states of
a CPU-device FSDP module as soon as they are unflattened. (No upstream issue
found.)
"""
import contextlib
import copy
import datetime
import importlib
import os
import pickle
import re
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

import mmengine
import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import HistoryBuffer, print_log
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import CheckpointLoader
from mmengine.utils import digit_version
from torch.nn.parallel import DistributedDataParallel

# The newest MMEngine release the MMEngine workarounds were checked against.
MMENGINE_CHECKED = '0.10.7'
ALLOW_UNSAFE_ENV = 'TSCAE_ALLOW_UNSAFE_CHECKPOINT_LOAD'
TORCH_NO_WEIGHTS_ONLY_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
_TRUE_VALUES = ('1', 'y', 'yes', 'true', 'on')

# Methods HistoryBuffer registers itself in ``_statistics_methods`` (and so
# pickles with its message hub). Custom statistics registered with
# ``HistoryBuffer.register_statistics`` are plain functions, not getattr calls.
HISTORY_BUFFER_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))
TORCHRUN_ENV_VARS = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
DEFAULT_DDP_WRAPPER = 'MMDistributedDataParallel'
DEFAULT_FSDP_WRAPPER = 'MMFullyShardedDataParallel'

_unsafe_load_depth = 0
_registered = False

SafeGlobal = Union[Callable, Tuple[Callable, str]]

# Guards ----------------------------------------------------------------------


def loads_weights_only_by_default(version: str = torch.__version__) -> bool:
    """Whether ``torch.load`` defaults to ``weights_only=True`` (torch 2.6
    and later), which is when MMEngine's own loads need the allow-list."""
    return digit_version(version) >= digit_version('2.6.0')


def mmengine_needs_workarounds(version: str = mmengine.__version__) -> bool:
    """Whether MMEngine is a release the workarounds of sections 2 and 3
    were checked against (up to :data:`MMENGINE_CHECKED`)."""
    return digit_version(version) <= digit_version(MMENGINE_CHECKED)


def fsdp_gathers_optimizer_states_into_one_buffer() -> bool:
    """Whether torch's FSDP has the function that
    :func:`own_gathered_optimizer_states` wraps."""
    from torch.distributed.fsdp import _optim_utils
    return hasattr(_optim_utils, '_unflatten_orig_param_states')


# 1. Checkpoints under torch.load(weights_only=True) ------------------------


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


def register_checkpoint_safe_globals() -> None:
    """Allow-list MMEngine checkpoint contents and install the safe loader.

    Idempotent: later calls do nothing. Afterwards ``torch.load`` (whoever
    calls it) accepts Runner checkpoints with ``weights_only=True``, and
    MMEngine's local-file loader (used by ``load_checkpoint``, ``load_from``,
    ``resume`` and ``init_cfg=dict(type='Pretrained')``) reports refused
    files with :class:`UnsafeCheckpointError` and honours the opt-in.

    Guard: torch >= 2.6 (:func:`loads_weights_only_by_default`). On older
    torch, whose ``torch.load`` does not default to ``weights_only=True``,
    MMEngine's loading works as it is and nothing is changed.
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


# 2. Distributed runs without CUDA --------------------------------------------


def launches_on_cpu() -> bool:
    """Guard of section 2: no CUDA, and an MMEngine that assumes it."""
    return not torch.cuda.is_available() and mmengine_needs_workarounds()


def init_cpu_process_group(cfg: Config) -> None:
    """Start the gloo process group from torchrun's environment variables.

    Args:
        cfg: The run's config; ``env_cfg.dist_cfg.timeout`` (seconds) is used
            if set.

    Raises:
        RuntimeError: a torchrun variable (RANK, WORLD_SIZE, MASTER_ADDR,
            MASTER_PORT) is missing, i.e. the script was not started by
            ``torchrun`` / ``tools/dist_train.sh``.
    """
    if torch_dist.is_initialized():
        return
    missing = [var for var in TORCHRUN_ENV_VARS if var not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the variables torchrun sets, but '
            f'{", ".join(missing)} missing: start the run with '
            '`bash tools/dist_train.sh CONFIG NUM_PROCESSES` (or torchrun).')
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    timeout = dist_cfg.get('timeout')
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(backend='gloo', **kwargs)


def cpu_ddp_wrapper_cfg(cfg: Config) -> ConfigDict:
    """The config's model wrapper, with ``device_ids=None`` for CPU DDP.

    Without ``model_wrapper_cfg`` in the config this is MMEngine's default
    wrapper (``MMDistributedDataParallel`` with ``broadcast_buffers=False``
    and the config's ``find_unused_parameters``).

    Raises:
        KeyError: ``model_wrapper_cfg.type`` is not a registered wrapper.
    """
    wrapper = ConfigDict(
        cfg.get('model_wrapper_cfg') or dict(
            type=DEFAULT_DDP_WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False)))
    wrapper.setdefault('type', DEFAULT_DDP_WRAPPER)
    wrapper_cls = MODEL_WRAPPERS.get(wrapper.type)
    if wrapper_cls is None:
        raise KeyError(f'model_wrapper_cfg.type={wrapper.type!r} is not a '
                       'registered model wrapper (mmengine MODEL_WRAPPERS).')
    if issubclass(wrapper_cls, DistributedDataParallel):
        wrapper.device_ids = None
    return wrapper


# 3. FSDP through MMEngine's FSDPStrategy -------------------------------------


def fsdp_wrapper_for_cpu(model_wrapper: Optional[dict]) -> dict:
    """A copy of the strategy's ``model_wrapper`` config that FSDP accepts
    on this machine: without CUDA (and on an MMEngine that wraps with a
    CUDA ``device_id``), ``device_id=torch.device('cpu')`` and no
    ``mixed_precision``, saying so in the log. With CUDA, an unchanged
    copy (with the default wrapper type)."""
    wrapper = copy.deepcopy(dict(model_wrapper or {}))
    wrapper.setdefault('type', DEFAULT_FSDP_WRAPPER)
    if not launches_on_cpu():
        return wrapper
    wrapper.setdefault('device_id', torch.device('cpu'))
    if wrapper.pop('mixed_precision', None) is not None:
        print_log(
            'TSCAEFSDPStrategy: CUDA is not available, so FSDP '
            'mixed_precision is dropped and parameters, gradients '
            'and collectives stay float32 (use --amp for bfloat16 '
            'autocast on CPU).',
            logger='current')
    return wrapper


@contextlib.contextmanager
def own_gathered_optimizer_states() -> Iterator[None]:
    """Copy each gathered optimizer state of a CPU-device FSDP module as
    soon as FSDP unflattens it (see section 3 of the module docstring).

    Guard: :func:`fsdp_gathers_optimizer_states_into_one_buffer`; without
    that function of torch the block runs unchanged.
    """
    if not fsdp_gathers_optimizer_states_into_one_buffer():
        yield
        return
    from torch.distributed.fsdp import _optim_utils
    unflatten = _optim_utils._unflatten_orig_param_states

    def unflatten_and_copy(fsdp_param_info, output_states, state_name, *args,
                           **kwargs):
        unflatten(fsdp_param_info, output_states, state_name, *args,
                  **kwargs)
        if fsdp_param_info.state.compute_device.type != 'cpu':
            return
        for states in output_states.values():
            value = states.get(state_name)
            if isinstance(value, torch.Tensor):
                states[state_name] = value.clone()

    _optim_utils._unflatten_orig_param_states = unflatten_and_copy
    try:
        yield
    finally:
        _optim_utils._unflatten_orig_param_states = unflatten


def fsdp_optim_state_dict(model: torch.nn.Module,
                          optimizer: torch.optim.Optimizer) -> dict:
    """``FSDP.optim_state_dict`` called by keyword with the optimizer itself
    (MMEngine 0.10.7 passes its wrapper), its gathered states owned."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    with own_gathered_optimizer_states():
        return FSDP.optim_state_dict(model=model, optim=optimizer)


def fsdp_optim_state_dict_to_load(model: torch.nn.Module,
                                  optimizer: torch.optim.Optimizer,
                                  state_dict: dict) -> dict:
    """``FSDP.optim_state_dict_to_load`` called by keyword (MMEngine 0.10.7
    passes torch 2.0's positional order; pytorch/pytorch#96534)."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    return FSDP.optim_state_dict_to_load(
        model=model, optim=optimizer, optim_state_dict=state_dict)
