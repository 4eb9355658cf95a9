"""Two CPU processes (gloo) against one process at the same global batch."""
import subprocess
import sys

import pytest

from reliability_runs import (
    REPO_ROOT,
    describe,
    free_port,
    read_losses,
    run_training,
    scalar_logs,
    tool_env,
    write_images,
    write_tiny_config,
)

# every test runs several processes
pytestmark = pytest.mark.slow

SYNC_BN_CHECK = '''
import torch
import torch.distributed as dist
from torch import nn
from tscae_mm.engine import SyncBatchNormAnyDevice

dist.init_process_group('gloo')
rank = dist.get_rank()
torch.manual_seed(0)
full = torch.randn(8, 6, 5) * 3 + 1  # (N, C, L): the whole batch
upstream = torch.randn(8, 6, 5)  # gradient arriving from the loss
reference = nn.BatchNorm1d(6)
synced = SyncBatchNormAnyDevice(6)
with torch.no_grad():
    for bn in (reference, synced):
        bn.weight.copy_(torch.linspace(0.5, 2, 6))
        bn.bias.copy_(torch.linspace(-1, 1, 6))

whole = full.clone().requires_grad_()
reference_out = reference(whole)
(reference_out * upstream).sum().backward()
part = full[rank * 4:(rank + 1) * 4].clone().requires_grad_()
out = synced(part)
(out * upstream[rank * 4:(rank + 1) * 4]).sum().backward()
for param in (synced.weight, synced.bias):
    dist.all_reduce(param.grad)  # what DDP does (as a sum here)

slice_ = slice(rank * 4, (rank + 1) * 4)
checks = dict(
    output=(out, reference_out[slice_]),
    input_grad=(part.grad, whole.grad[slice_]),
    weight_grad=(synced.weight.grad, reference.weight.grad),
    bias_grad=(synced.bias.grad, reference.bias.grad),
    running_mean=(synced.running_mean, reference.running_mean),
    running_var=(synced.running_var, reference.running_var))
for name, (got, want) in checks.items():
    assert torch.allclose(got, want, atol=1e-5), (name, got, want)
print(f'rank {rank}: SyncBNAnyDevice matches full-batch BatchNorm')
'''

SKIP_ON_ONE_RANK = '''
import sys
import torch
import torch.distributed as dist
sys.path.insert(0, {tests!r})
from mmengine.dist import all_gather
from reliability_runs import ToyDataset, toy_runner

dist.init_process_group('gloo')
# DefaultSampler without shuffle gives rank 0 samples 0, 2, 4, 6: its second
# batch (iteration 2) holds the NaN, rank 1's batches are all finite.
runner = toy_runner(
    {work_dir!r}, 'ddp_skip', dataset=ToyDataset(poisoned=[4]),
    custom_hooks=[dict(type='NonFiniteLossHook', action='skip')],
    launcher='pytorch',
    cfg=dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                    device_ids=None)))
runner.train()
skipped = runner.message_hub.get_scalar('train/skipped_steps').current()
assert skipped == 2, skipped  # once per epoch, on both ranks
weights = torch.cat([p.detach().flatten() for p in runner.model.parameters()])
assert torch.isfinite(weights).all()
others = all_gather(weights)
assert torch.equal(others[0], others[1]), 'ranks diverged'
print(f'rank {{dist.get_rank()}}: skipped {{skipped}} steps in step')
'''


def torchrun(script, processes=2, timeout=180):
    """Run ``script`` (a file) in ``processes`` gloo processes."""
    return subprocess.run([
        sys.executable, '-m', 'torch.distributed.run',
        f'--nproc_per_node={processes}', f'--master_port={free_port()}',
        str(script)
    ],
                          cwd=REPO_ROOT,
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def test_two_processes_match_one_process(tmp_path):
    data_root = write_images(tmp_path / 'data', count=32)
    losses = {}
    for processes, batch in ((1, 8), (2, 4)):  # global batch 8 in both
        config = write_tiny_config(
            tmp_path / f'p{processes}.py',
            data_root,
            batch_size=batch,
            epochs=2)
        work_dir = tmp_path / f'run_p{processes}'
        proc = run_training(
            config, work_dir, processes=processes, port=free_port())
        assert proc.returncode == 0, describe(proc)
        losses[processes] = read_losses(scalar_logs(work_dir)[-1])
    assert sorted(losses[1]) == list(range(1, 9))
    assert sorted(losses[2]) == sorted(losses[1])
    for iteration, single in losses[1].items():
        assert losses[2][iteration] == pytest.approx(
            single, rel=1e-4, abs=1e-5), f'iteration {iteration}'


def test_sync_batchnorm_on_cpu_equals_full_batch(tmp_path):
    script = tmp_path / 'sync_bn.py'
    script.write_text(SYNC_BN_CHECK)
    proc = torchrun(script)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.count('matches full-batch BatchNorm') == 2


def test_non_finite_loss_on_one_rank_is_skipped_on_all(tmp_path):
    script = tmp_path / 'skip.py'
    script.write_text(
        SKIP_ON_ONE_RANK.format(
            tests=str(REPO_ROOT / 'tests'), work_dir=str(tmp_path / 'run')))
    proc = torchrun(script)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.count('skipped 2 steps in step') == 2
