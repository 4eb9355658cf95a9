"""Wall-clock of the demo pre-training with and without tscae_mm's CPU
threading defaults, on a quiet machine and beside busy processes
(``tools/benchmark_cpu_threads.py`` is its command line).

Runs ``tools/train.py`` on the demo config for ``--epochs`` epochs in a
fresh process per measurement, with the threading variables of the calling
shell removed (``OMP_NUM_THREADS``, ``OMP_WAIT_POLICY``, ``MKL_NUM_THREADS``):

- ``before``: ``TSCAE_MM_CPU_DEFAULTS=0``, torch's and OpenMP's own settings
  (what the entry points did before the defaults existed);
- ``after``: the defaults (tscae_mm's CPU threading defaults);
- ``one-thread``: ``OMP_NUM_THREADS=1`` (for reference: what users were told
  to set by hand).

``busy`` starts ``--busy-processes`` processes that keep one core each busy
(a pure-Python loop) for the duration of those measurements. Before each
``quiet`` measurement the tool waits (up to ``--wait-quiet`` seconds) until
the CPUs are less than 15 % busy over 2 s (``/proc/stat``), and records the
busy fraction it saw, so a measurement disturbed by other jobs shows.
Reports the wall-clock of each run (process start to exit) and the median
time per iteration from its log, and writes them with the machine's
description to a JSON file. A benchmark, not a test: the figures depend on
the machine.

``tools/train.py`` and the demo config (``--config``) are found from the
current directory: run it from the repository root. Example::

    python tools/benchmark_cpu_threads.py \
        --out docs/speed/cpu_threads_demo.json
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# what is measured, relative to the current directory
TRAIN_SCRIPT = 'tools/train.py'
DEMO_CONFIG = 'configs/tscae/tscae_vit-tiny-p4_demo.py'
THREAD_VARS = ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_NUM_THREADS',
               'TSCAE_MM_CPU_DEFAULTS', 'TSCAE_MM_SET_OMP_WAIT_POLICY')
SPIN = 'while True:\n    pass\n'


def run_demo(setting: str, config: str, epochs: int, timeout: int) -> dict:
    """One run of ``config`` in a fresh process; its wall-clock and
    iteration times."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if setting == 'before':
        env['TSCAE_MM_CPU_DEFAULTS'] = '0'
    elif setting == 'one-thread':
        env['OMP_NUM_THREADS'] = '1'
    with tempfile.TemporaryDirectory() as work_dir:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, TRAIN_SCRIPT, config, '--work-dir', work_dir,
             '--cfg-options', f'train_cfg.max_epochs={epochs}'],
            env=env, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f'the demo run ({setting}) failed:\n'
                               f'{proc.stderr[-3000:]}')
        times, threads = [], None
        for scalars in Path(work_dir).glob('*/vis_data/scalars.json'):
            for line in scalars.read_text().splitlines():
                record = json.loads(line)
                if 'time' in record and 'loss' in record:
                    times.append(record['time'])
        for line in (proc.stdout + proc.stderr).splitlines():
            if 'CPU threads: ' in line:
                threads = line.split('CPU threads: ', 1)[1].strip()
    return dict(
        wall_clock_s=round(seconds, 1),
        median_iter_s=round(statistics.median(times), 3) if times else None,
        logged_iterations=len(times),
        threads=threads)


def cpu_busy_fraction(seconds: float = 2.) -> float:
    """Fraction of all CPUs' time spent busy over ``seconds``
    (/proc/stat)."""
    def sample():
        with open('/proc/stat') as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1. - (idle1 - idle0) / max(1, total1 - total0)


def wait_until_quiet(limit: float) -> float:
    """Wait up to ``limit`` seconds for the CPUs to be < 15 % busy; return
    the last busy fraction seen."""
    deadline = time.time() + limit
    busy = cpu_busy_fraction()
    while busy >= 0.15 and time.time() < deadline:
        busy = cpu_busy_fraction()
    if busy >= 0.15:
        print(f'warning: the machine is {busy:.0%} busy before a quiet '
              'measurement; its figures include that load', flush=True)
    return busy


def measure(setting: str, config: str, busy: int, epochs: int,
            timeout: int, wait_quiet: float) -> dict:
    busy_before = None if busy else wait_until_quiet(wait_quiet)
    spinners = [
        subprocess.Popen([sys.executable, '-c', SPIN]) for _ in range(busy)
    ]
    try:
        load_before = os.getloadavg()
        result = run_demo(setting, config, epochs, timeout)
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
    result['load_average_before'] = [round(x, 2) for x in load_before]
    if busy_before is not None:
        result['cpu_busy_before'] = round(busy_before, 3)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=DEMO_CONFIG,
                        help='the pre-training config that is run '
                        '(default: the demo, %(default)s)')
    parser.add_argument('--epochs', type=int, default=1,
                        help='demo epochs per run (24 iterations each)')
    parser.add_argument('--busy-processes', type=int, default=1,
                        help='processes that keep a core busy in the busy '
                        'scenario (default 1)')
    parser.add_argument('--scenarios', nargs='+', default=['quiet', 'busy'],
                        choices=['quiet', 'busy'])
    parser.add_argument('--timeout', type=int, default=1800,
                        help='seconds allowed per run')
    parser.add_argument('--wait-quiet', type=float, default=300,
                        help='seconds to wait for a quiet machine before '
                        'each quiet measurement (default 300)')
    parser.add_argument('--out', type=Path, help='JSON file to write')
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.busy_processes < 1:
        parser.error('--epochs and --busy-processes must be at least 1')

    results = {}
    for scenario in args.scenarios:
        busy = args.busy_processes if scenario == 'busy' else 0
        for setting in ('before', 'after', 'one-thread'):
            result = measure(setting, args.config, busy, args.epochs,
                             args.timeout, args.wait_quiet)
            results[f'{scenario}/{setting}'] = result
            print(f'{scenario:5s} {setting:10s}: '
                  f'{result["wall_clock_s"]:7.1f} '
                  f's wall-clock, median {result["median_iter_s"]} s / '
                  f'iteration; {result["threads"]}', flush=True)
    for scenario in args.scenarios:
        before = results[f'{scenario}/before']['wall_clock_s']
        after = results[f'{scenario}/after']['wall_clock_s']
        print(f'{scenario}: before / after = {before / after:.2f}x')
    report = dict(
        benchmark='demo pre-training (tools/train.py ' + args.config +
        f', {args.epochs} epoch(s)), with (after) and without (before, '
        'TSCAE_MM_CPU_DEFAULTS=0) the CPU threading defaults, and with '
        'OMP_NUM_THREADS=1 (one-thread)',
        busy_processes=args.busy_processes,
        machine=dict(platform=platform.platform(),
                     processor=platform.processor() or platform.machine(),
                     logical_cpus=os.cpu_count(),
                     usable_cpus=len(os.sched_getaffinity(0)),
                     python=platform.python_version()),
        results=results)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + '\n')
        print(f'wrote {args.out}')
