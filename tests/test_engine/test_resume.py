"""Resume after a crash: SIGKILL mid-epoch, a crash while a checkpoint is
written, a broken ``last_checkpoint`` pointer, and nothing to resume from."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reliability_runs import (
    REPO_ROOT,
    ToyModel,
    describe,
    newest_log,
    read_losses,
    run_training,
    scalar_logs,
    tool_env,
    toy_runner,
    train_command,
    write_images,
    write_tiny_config,
)

# every test trains through a Runner, most in a subprocess
pytestmark = pytest.mark.slow

KILL_AT = 'Epoch(train) [2][2/'  # log line of epoch 2, iteration 2

CRASH_WHILE_SAVING = '''
import os, runpy, signal, sys
from mmengine.fileio import LocalBackend

write = LocalBackend.put


def put_half_then_die(self, obj, filepath):
    """Write half of the second epoch's checkpoint, then die (SIGKILL)."""
    if 'epoch_2' in os.path.basename(str(filepath)):
        with open(filepath, 'wb') as partial:
            partial.write(obj[:len(obj) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return write(self, obj, filepath)


LocalBackend.put = put_half_then_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    root = tmp_path_factory.mktemp('resume')
    data_root = write_images(root / 'data', count=64)
    return write_tiny_config(root / 'tiny.py', data_root, epochs=3)


def wait_for_log_line(work_dir: Path,
                      line: str,
                      proc: subprocess.Popen,
                      timeout: float = 240) -> None:
    """Block until the run's log holds ``line``; fail if the run ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(work_dir.glob('*/*.log'))
        if logs and line in logs[0].read_text():
            return
        if proc.poll() is not None:
            pytest.fail(f'the run ended (exit {proc.returncode}) before its '
                        f'log showed {line!r}')
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f'no {line!r} in the log after {timeout} s')


def test_sigkill_mid_epoch_then_resume_reproduces_losses(
        tiny_config, tmp_path):
    uninterrupted = tmp_path / 'uninterrupted'
    proc = run_training(tiny_config, uninterrupted)
    assert proc.returncode == 0, describe(proc)
    expected = read_losses(scalar_logs(uninterrupted)[0])
    assert len(expected) == 24  # 3 epochs of 64 / 8 iterations

    crashed = tmp_path / 'crashed'
    victim = subprocess.Popen(
        train_command(tiny_config, crashed),
        cwd=REPO_ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    wait_for_log_line(crashed, KILL_AT, victim)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL
    assert (crashed / 'epoch_1.pth').is_file()
    assert not (crashed / 'epoch_2.pth').exists(), 'killed too late'

    proc = run_training(tiny_config, crashed, extra=['--resume'])
    assert proc.returncode == 0, describe(proc)
    assert f'Resuming from {crashed / "epoch_1.pth"}' in newest_log(crashed)
    resumed = read_losses(scalar_logs(crashed)[-1])
    assert sorted(resumed) == list(range(9, 25))
    for iteration, losses in resumed.items():
        assert losses == pytest.approx(
            expected[iteration], rel=1e-6), (f'iteration {iteration}')


def test_crash_while_saving_keeps_last_good_checkpoint(tiny_config, tmp_path):
    driver = tmp_path / 'crash_while_saving.py'
    driver.write_text(CRASH_WHILE_SAVING)
    work_dir = tmp_path / 'run'
    command = train_command(tiny_config, work_dir)
    proc = subprocess.run(
        [sys.executable, str(driver), *command[1:]],
        cwd=REPO_ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == -signal.SIGKILL, describe(proc)

    assert not (work_dir / 'epoch_2.pth').exists()
    leftovers = list(work_dir.glob('epoch_2.pth.tmp-*'))
    assert len(leftovers) == 1, 'the interrupted save wrote elsewhere'
    pointer = (work_dir / 'last_checkpoint').read_text().strip()
    assert pointer == str(work_dir / 'epoch_1.pth')
    checkpoint = torch.load(pointer, map_location='cpu', weights_only=False)
    assert checkpoint['meta']['epoch'] == 1

    proc = run_training(tiny_config, work_dir, extra=['--resume'])
    assert proc.returncode == 0, describe(proc)
    assert f'Resuming from {work_dir / "epoch_1.pth"}' in newest_log(work_dir)
    assert not list(work_dir.glob('*.tmp-*'))
    assert (work_dir / 'epoch_3.pth').is_file()


def test_resume_without_checkpoint_starts_fresh_and_says_so(tmp_path):
    runner = toy_runner(tmp_path, 'fresh', resume=True, epochs=1)
    runner.train()
    log = newest_log(tmp_path)
    assert ('Resume requested, but ' + str(tmp_path) +
            ' holds no checkpoint') in log
    assert 'starting a fresh run from epoch 0, iteration 0' in log
    assert (tmp_path / 'epoch_1.pth').is_file()


def test_broken_pointer_falls_back_to_newest_checkpoint(tmp_path):
    toy_runner(tmp_path, 'first', epochs=2).train()
    (tmp_path / 'last_checkpoint').write_text('')  # killed mid-write
    runner = toy_runner(tmp_path, 'second', resume=True, epochs=3)
    runner.train()
    log = newest_log(tmp_path)
    assert 'Resuming from the newest intact checkpoint instead' in log
    assert f'Resuming from {tmp_path / "epoch_2.pth"}' in log
    assert 'resumed epoch: 2' in log


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    toy_runner(tmp_path / 'narrow', 'narrow', epochs=1).train()
    checkpoint = tmp_path / 'narrow' / 'epoch_1.pth'
    for resume in (True, False):
        runner = toy_runner(
            tmp_path / f'wide_{resume}',
            f'wide_{resume}',
            model=ToyModel(width=8),
            load_from=str(checkpoint),
            resume=resume)
        with pytest.raises(ValueError) as refused:
            runner.train()
        message = str(refused.value)
        assert f'Refusing checkpoint {checkpoint}' in message
        assert 'hidden.weight (checkpoint (4, 2), model (8, 2))' in message
        assert not list((tmp_path / f'wide_{resume}').glob('*.pth'))


def test_checkpoint_with_other_keys_names_them(tmp_path):
    toy_runner(tmp_path / 'a', 'keys_a', epochs=1).train()
    model = ToyModel()
    model.extra = torch.nn.Linear(1, 1)
    runner = toy_runner(
        tmp_path / 'b',
        'keys_b',
        model=model,
        load_from=str(tmp_path / 'a' / 'epoch_1.pth'))
    with pytest.raises(
            ValueError,
            match=r'2 key\(s\) missing from the checkpoint: '
            r'extra.bias, extra.weight'):
        runner.train()


def test_atomic_save_leaves_no_temporary_file(tmp_path):
    toy_runner(tmp_path, 'atomic', epochs=2).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'epoch_1.pth', 'epoch_2.pth'
    ]
    assert not list(tmp_path.glob('*.tmp-*'))
    assert os.path.getsize(tmp_path / 'epoch_2.pth') > 0
