"""CPU threading defaults for training and testing.

On a CPU that another job also uses, torch's OpenMP threads spin while they
wait for each other; when the OS deschedules one, the others burn its time
slice. On 2 cores beside one other busy training process, one demo epoch
took 221 s with OpenMP's defaults and 66 s with ``OMP_WAIT_POLICY=PASSIVE``
(threads sleep while they wait). On an idle machine the opposite holds:
sleeping threads must be woken for every parallel region, and PASSIVE cost
the demo 10-24 %. ``python tools/benchmark_cpu_threads.py`` measures both
(docs/speed.md, "CPU threads").

So the defaults depend on how busy the machine is when the run starts:
:func:`busy_cores` samples ``/proc/stat`` for a quarter of a second over
the cores of this process's affinity mask. Each is chosen only where the
user has not:

- idle (other processes keep less than :data:`BUSY_THRESHOLD` of a core
  busy): OpenMP's own wait policy, and one intra-op thread per usable core
  divided by the processes of this machine (``LOCAL_WORLD_SIZE``, set by
  torchrun): for one process what torch alone does;
- busy: ``OMP_WAIT_POLICY=PASSIVE``, and (one process) as many intra-op
  threads as cores are free (usable cores minus the busy ones, rounded, at
  least 1), so no thread of ours waits for a core another process holds.

``OMP_WAIT_POLICY`` is read once by OpenMP, when torch loads it, so only
an entry point that sets it before importing torch can choose it
(``tools/train.py`` and ``tools/test.py`` call
:func:`set_openmp_env_defaults` in their first lines; it records its
measurement for :func:`configure_cpu_threads`). The thread count is kept
when ``OMP_NUM_THREADS`` is set (torchrun sets 1 when it starts several
processes). A machine that becomes busy after the start is not followed:
export ``OMP_WAIT_POLICY=PASSIVE`` yourself where that is expected.

``TSCAE_MM_CPU_DEFAULTS=0`` keeps torch's and OpenMP's own settings.
:func:`configure_cpu_threads` runs once per process: from our entry points
(``tools/train.py`` and ``tools/test.py``, through
:func:`tscae_mm.utils.build_runner`) and from
:class:`~tscae_mm.engine.ReliableRunner` /
:class:`~tscae_mm.engine.ReliableFlexibleRunner` (the pre-training and
benchmark configs of this package select one), so the toolboxes' own
``tools/train.py`` get the thread count with those configs too (not the
wait policy: OpenMP is loaded before any plugin code runs). Model code
never changes process settings. :func:`log_cpu_threads` logs the choice
once per process.

This module imports nothing heavy at import time, so that an entry point
can call :func:`set_openmp_env_defaults` before torch is imported.
"""
import os
import time
from typing import MutableMapping, Optional

OPT_OUT_ENV = 'TSCAE_MM_CPU_DEFAULTS'
# set by set_openmp_env_defaults when it chose OMP_WAIT_POLICY itself
DEFAULTED_MARK = 'TSCAE_MM_SET_OMP_WAIT_POLICY'
# '<pid>:<busy cores>': the measurement of the process's entry point
MEASURED_ENV = 'TSCAE_MM_BUSY_CORES'
# cores kept busy by other processes from which the machine counts as busy
BUSY_THRESHOLD = 0.5
SAMPLE_SECONDS = 0.25

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


def busy_cores(seconds: float = SAMPLE_SECONDS) -> Optional[float]:
    """How many of this process's usable cores other processes keep busy,
    over ``seconds`` (``/proc/stat``; this process sleeps meanwhile), or
    None where that cannot be read (not Linux)."""
    try:
        cpus = {f'cpu{index}' for index in os.sched_getaffinity(0)}
    except (AttributeError, OSError):
        return None

    def sample():
        idle = total = 0
        with open('/proc/stat') as stat:
            for line in stat:
                fields = line.split()
                if fields and fields[0] in cpus:
                    values = [int(value) for value in fields[1:]]
                    idle += values[3] + values[4]  # idle + iowait
                    total += sum(values)
        return idle, total

    try:
        idle0, total0 = sample()
        own0 = sum(os.times()[:2])
        time.sleep(seconds)
        idle1, total1 = sample()
        own1 = sum(os.times()[:2])
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    busy_share = 1. - (idle1 - idle0) / (total1 - total0)
    own_cores = (own1 - own0) / seconds
    return max(0., busy_share * len(cpus) - own_cores)


def measured_busy_cores(
        environ: MutableMapping[str, str] = os.environ) -> Optional[float]:
    """:func:`busy_cores`, measured once per process: the entry point's
    measurement (recorded in ``environ`` with its process id) is reused;
    child processes and later runs measure their own."""
    pid, _, value = environ.get(MEASURED_ENV, '').partition(':')
    if pid == str(os.getpid()):
        return None if value == 'unknown' else float(value)
    busy = busy_cores()
    shown = 'unknown' if busy is None else round(busy, 2)
    environ[MEASURED_ENV] = f'{os.getpid()}:{shown}'
    return busy


def machine_is_busy(busy: Optional[float]) -> bool:
    """Busy when other processes keep at least :data:`BUSY_THRESHOLD` of a
    core busy, or when that cannot be measured (the safe side)."""
    return busy is None or busy >= BUSY_THRESHOLD


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
    """Set ``OMP_WAIT_POLICY=PASSIVE`` when the machine is busy
    (:func:`measured_busy_cores`), unless the user set it or opted out.

    Call before torch is imported (OpenMP reads the variable once, when
    torch loads it). Returns True when it set the variable.
    """
    if not defaults_enabled(environ) or 'OMP_WAIT_POLICY' in environ:
        return False
    if not machine_is_busy(measured_busy_cores(environ)):
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
    busy = measured_busy_cores(environ)
    load = ('busy cores not measurable' if busy is None else
            f'{busy:.1f} of {cores} usable cores busy with other processes '
            'at start')
    if 'OMP_NUM_THREADS' in environ:
        threads = (f'{torch.get_num_threads()} intra-op (OMP_NUM_THREADS='
                   f"{environ['OMP_NUM_THREADS']}, as set; {load})")
    elif procs == 1 and busy is not None and machine_is_busy(busy):
        count = max(1, int(cores - busy + 0.5))
        torch.set_num_threads(count)
        threads = f'{count} intra-op (the free cores: {load})'
    else:
        count = max(1, cores // procs)
        torch.set_num_threads(count)
        threads = (f'{count} intra-op ({cores} usable cores / {procs} '
                   f'process(es) on this machine; {load})')
    policy = environ.get('OMP_WAIT_POLICY')
    if policy is None and not machine_is_busy(busy):
        wait = ("OMP_WAIT_POLICY unset (OpenMP's default: the machine was "
                'idle at start; if other jobs will share these cores, '
                'export OMP_WAIT_POLICY=PASSIVE before starting)')
    elif policy is None:
        wait = ('OMP_WAIT_POLICY unset: OpenMP threads spin while they wait, '
                'which can make a CPU run several times slower on a busy '
                'machine; export OMP_WAIT_POLICY=PASSIVE before starting '
                "(tscae_mm's tools/train.py and tools/test.py do when the "
                'machine is busy)')
    elif environ.get(DEFAULTED_MARK) == '1':
        wait = f'OMP_WAIT_POLICY={policy} (set by tscae_mm: machine busy)'
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
