"""CPU threading defaults for training and testing.

On a CPU that another job also uses, torch's OpenMP threads spin while they
wait for each other; when the OS deschedules one, the others burn its time
slice. On 2 cores beside one other busy training process, one demo epoch
took 221 s with OpenMP's defaults and 66 s with ``OMP_WAIT_POLICY=PASSIVE``
(threads sleep while they wait); ``python tools/benchmark_cpu_threads.py``
measures it against a spinning process (docs/speed.md, "CPU threads").

What the package chooses, each only where the user has not:

- ``OMP_WAIT_POLICY=PASSIVE``: OpenMP reads it once, when torch loads it, so
  only an entry point that sets it before importing torch can choose it
  (``tools/train.py`` and ``tools/test.py`` do; their first lines). Later,
  :func:`configure_cpu_threads` can only warn that it is unset.
- intra-op threads: the usable cores divided by the processes of this
  machine (``LOCAL_WORLD_SIZE``, set by torchrun), at least 1; torch's own
  default counts every core in every process. Kept when ``OMP_NUM_THREADS``
  is set (torchrun sets 1 when it starts several processes).

``TSCAE_MM_CPU_DEFAULTS=0`` keeps torch's and OpenMP's own settings.
:func:`configure_cpu_threads` runs once per process: from our entry points
(``tools/train.py`` and ``tools/test.py``, through
:func:`tscae_mm.utils.build_runner`) and from
:class:`~tscae_mm.engine.ReliableRunner` /
:class:`~tscae_mm.engine.ReliableFlexibleRunner` (every pre-training config
of this package selects one), so the toolboxes' own ``tools/train.py`` get
it with those configs too. Model code never changes process settings: a
downstream config run with a toolbox's own script keeps torch's defaults.
:func:`log_cpu_threads` logs the choice once per process.

This module imports nothing heavy at import time, so that an entry point
can call :func:`set_openmp_env_defaults` before torch is imported.
"""
import os
from typing import MutableMapping, Optional

OPT_OUT_ENV = 'TSCAE_MM_CPU_DEFAULTS'
# set by set_openmp_env_defaults when it chose OMP_WAIT_POLICY itself
DEFAULTED_MARK = 'TSCAE_MM_SET_OMP_WAIT_POLICY'

_configured: Optional[str] = None
_logged = False


def defaults_enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """False when the user opted out with ``TSCAE_MM_CPU_DEFAULTS=0``."""
    return environ.get(OPT_OUT_ENV, '1').strip().lower() not in ('0', 'off',
                                                                 'false',
                                                                 'no')


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def local_processes(environ: MutableMapping[str, str] = os.environ) -> int:
    """Training processes on this machine: torchrun's ``LOCAL_WORLD_SIZE``,
    else 1. A value that is not a positive int is refused, naming it."""
    value = environ.get('LOCAL_WORLD_SIZE', '1')
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f'LOCAL_WORLD_SIZE must be a positive int (the '
                         f'processes on this machine), got {value!r}.')
    return count


def set_openmp_env_defaults(
        environ: MutableMapping[str, str] = os.environ) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it or opted out.

    Call before torch is imported (OpenMP reads the variable once, when
    torch loads it). Returns True when it set the variable.
    """
    if not defaults_enabled(environ) or 'OMP_WAIT_POLICY' in environ:
        return False
    environ['OMP_WAIT_POLICY'] = 'PASSIVE'
    environ[DEFAULTED_MARK] = '1'
    return True


def configure_cpu_threads(
        environ: MutableMapping[str, str] = os.environ) -> str:
    """Choose torch's intra-op thread count (see the module docstring) once
    per process and return one line saying what was chosen and why; later
    calls return the same line without changing anything."""
    global _configured
    if _configured is not None:
        return _configured
    import torch
    if not defaults_enabled(environ):
        _configured = (f'CPU threads: {torch.get_num_threads()} intra-op '
                       f"(torch's default; {OPT_OUT_ENV}=0), OMP_WAIT_POLICY="
                       f"{environ.get('OMP_WAIT_POLICY', 'unset')}")
        return _configured
    cores, procs = usable_cores(), local_processes(environ)
    if 'OMP_NUM_THREADS' in environ:
        threads = (f'{torch.get_num_threads()} intra-op (OMP_NUM_THREADS='
                   f"{environ['OMP_NUM_THREADS']}, as set)")
    else:
        count = max(1, cores // procs)
        torch.set_num_threads(count)
        threads = (f'{count} intra-op ({cores} usable cores / {procs} '
                   'process(es) on this machine)')
    policy = environ.get('OMP_WAIT_POLICY')
    if policy is None:
        wait = ('OMP_WAIT_POLICY unset: OpenMP threads spin while they wait, '
                'which can make a CPU run several times slower on a busy '
                'machine; export OMP_WAIT_POLICY=PASSIVE before starting '
                "(tscae_mm's tools/train.py and tools/test.py do)")
    elif environ.get(DEFAULTED_MARK) == '1':
        wait = f'OMP_WAIT_POLICY={policy} (set by tscae_mm)'
    else:
        wait = f'OMP_WAIT_POLICY={policy} (as set)'
    _configured = (f'CPU threads: {threads}; {wait}. '
                   f'{OPT_OUT_ENV}=0 keeps the libraries\' own settings.')
    return _configured


def log_cpu_threads(logger=None) -> None:
    """Configure (:func:`configure_cpu_threads`) and log the choice, once
    per process; ``logger`` defaults to MMEngine's current logger."""
    global _logged
    message = configure_cpu_threads()
    if _logged:
        return
    _logged = True
    if logger is None:
        from mmengine.logging import print_log
        print_log(message, logger='current')
    else:
        logger.info(message)
