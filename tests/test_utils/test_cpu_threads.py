"""CPU threading defaults (tscae_mm/utils/cpu_threads.py): what is chosen
on an idle and on a busy machine, what is kept because the user set it, and
the opt-out."""
import os
import subprocess
import sys

import pytest
import torch

from tscae_mm.utils import cpu_threads

from conftest import REPO_ROOT


def busy(cores):
    """A machine with ``cores`` cores kept busy by other processes."""
    return lambda seconds=None: cores


@pytest.fixture
def fresh(monkeypatch):
    """The module as if no entry point had configured this process yet, on
    an idle 4-core machine; torch's thread count restored afterwards."""
    monkeypatch.setattr(cpu_threads, '_configured', None)
    monkeypatch.setattr(cpu_threads, 'usable_cores', lambda: 4)
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(0.1))
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_wait_policy_is_passive_only_on_a_busy_machine(monkeypatch):
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(1.0))
    env = {}
    assert cpu_threads.set_openmp_env_defaults(env)
    assert env['OMP_WAIT_POLICY'] == 'PASSIVE'
    assert env[cpu_threads.DEFAULTED_MARK] == '1'
    assert env[cpu_threads.MEASURED_ENV] == f'{os.getpid()}:1.0'
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(0.2))
    env = {}  # idle: OpenMP's own policy (threads spin briefly)
    assert not cpu_threads.set_openmp_env_defaults(env)
    assert 'OMP_WAIT_POLICY' not in env
    env = {'OMP_WAIT_POLICY': 'ACTIVE'}
    assert not cpu_threads.set_openmp_env_defaults(env)
    assert env == {'OMP_WAIT_POLICY': 'ACTIVE'}
    env = {cpu_threads.OPT_OUT_ENV: '0'}
    assert not cpu_threads.set_openmp_env_defaults(env)
    assert 'OMP_WAIT_POLICY' not in env


def test_unmeasurable_load_counts_as_busy(monkeypatch):
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(None))
    env = {}
    assert cpu_threads.set_openmp_env_defaults(env)
    assert env[cpu_threads.MEASURED_ENV] == f'{os.getpid()}:unknown'


def test_busy_machine_gets_the_free_cores_and_the_entry_point_measurement(
        fresh, monkeypatch):
    env = {}
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(1.3))
    assert cpu_threads.set_openmp_env_defaults(env)
    # later in the same process: the entry point's measurement is reused
    monkeypatch.setattr(cpu_threads, 'busy_cores', busy(0.0))
    message = cpu_threads.configure_cpu_threads(env)
    assert torch.get_num_threads() == 3  # 4 cores - 1.3 busy, rounded
    assert ('3 intra-op (the free cores: 1.3 of 4 usable cores busy with '
            'other processes at start)') in message
    assert 'OMP_WAIT_POLICY=PASSIVE (set by tscae_mm: machine busy)' in message


def test_idle_machine_keeps_the_libraries_settings(fresh):
    message = cpu_threads.configure_cpu_threads({})
    assert torch.get_num_threads() == 4
    assert '4 intra-op (4 usable cores / 1 process(es)' in message
    assert ("OMP_WAIT_POLICY unset (OpenMP's default: the machine was idle "
            'at start') in message


def test_busy_cores_reads_this_machine():
    measured = cpu_threads.busy_cores(0.05)
    assert measured is None or 0 <= measured <= cpu_threads.usable_cores()


def test_threads_are_the_cores_shared_by_the_local_processes(fresh):
    env = {'OMP_WAIT_POLICY': 'PASSIVE', cpu_threads.DEFAULTED_MARK: '1',
           'LOCAL_WORLD_SIZE': '3'}
    cpu_threads.busy_cores = busy(0.9)  # restored by the fixture
    message = cpu_threads.configure_cpu_threads(env)
    assert torch.get_num_threads() == 1  # 4 cores // 3 processes
    assert '1 intra-op (4 usable cores / 3 process(es)' in message
    assert 'OMP_WAIT_POLICY=PASSIVE (set by tscae_mm' in message
    # once per process: a second call changes nothing
    torch.set_num_threads(2)
    assert cpu_threads.configure_cpu_threads({}) == message
    assert torch.get_num_threads() == 2


def test_user_settings_are_kept_and_an_unset_policy_is_explained(fresh):
    torch.set_num_threads(3)
    message = cpu_threads.configure_cpu_threads({'OMP_NUM_THREADS': '3'})
    assert torch.get_num_threads() == 3
    assert 'OMP_NUM_THREADS=3, as set' in message
    assert 'OMP_WAIT_POLICY unset' in message and \
        'export OMP_WAIT_POLICY=PASSIVE' in message
    # the same, measured busy, as under a toolbox's own tools/train.py
    cpu_threads._configured = None
    cpu_threads.busy_cores = busy(2.0)  # restored by the fixture
    message = cpu_threads.configure_cpu_threads({'OMP_NUM_THREADS': '3'})
    assert 'OpenMP threads spin while they wait' in message


def test_opt_out_keeps_torch_default(fresh):
    torch.set_num_threads(3)
    message = cpu_threads.configure_cpu_threads(
        {cpu_threads.OPT_OUT_ENV: 'off'})
    assert torch.get_num_threads() == 3
    assert "torch's default" in message


def test_bad_local_world_size_is_named(fresh):
    with pytest.raises(ValueError, match="LOCAL_WORLD_SIZE.*'two'"):
        cpu_threads.configure_cpu_threads({'LOCAL_WORLD_SIZE': 'two'})


@pytest.mark.slow
def test_entry_point_sets_the_policy_before_torch_loads_openmp():
    """tools/train.py's first lines run before torch is imported: the
    variable is in the environment by the time torch is."""
    code = ('import sys, os, runpy; sys.argv = ["train.py", "--help"]\n'
            'os.environ.pop("OMP_WAIT_POLICY", None)\n'
            'os.environ.pop("TSCAE_MM_CPU_DEFAULTS", None)\n'
            f'os.environ["{cpu_threads.MEASURED_ENV}"] = '
            'f"{os.getpid()}:1.0"  # a busy machine\n'
            'try:\n'
            f'    runpy.run_path("{REPO_ROOT}/tools/train.py", '
            'run_name="__main__")\n'
            'except SystemExit:\n'
            '    pass\n'
            'print("policy", os.environ.get("OMP_WAIT_POLICY"))\n')
    # the module would have imported torch first if the order were wrong:
    # check that torch is not imported by the time the variable is set
    probe = ('import sys, os, runpy\n'
             'os.environ.pop("OMP_WAIT_POLICY", None)\n'
             f'ns = runpy.run_path("{REPO_ROOT}/tscae_mm/utils/'
             'cpu_threads.py")\n'
             'ns["set_openmp_env_defaults"]()\n'
             'print("torch imported", "torch" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                         text=True, check=True).stdout
    assert 'torch imported False' in out
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, cwd=REPO_ROOT).stdout
    assert 'policy PASSIVE' in out
