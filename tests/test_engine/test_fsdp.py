"""FSDP through MMEngine's FlexibleRunner, on CPU with gloo (2 processes),
and activation checkpointing of the encoder's blocks.

Tolerances. On 2 ranks FSDP's reduce-scatter and DDP's all-reduce both add
the same two float32 gradients, a + b, once, and both divide by 2 (exact),
so the updates, and the losses of later steps, agree to the bit; measured
here: a relative difference of 0 on all 8 steps (ddp vs fsdp, 2 epochs). With
more ranks the summation order may differ (about 1e-7 relative per step on
float32 sums), hence ``rel=1e-6`` rather than equality. Activation
checkpointing reruns the same float32 operations on the same inputs with the
same random state, so its losses and gradients are compared with
``torch.equal`` / a 1e-6 tolerance for the gradients' accumulation order.
"""
import importlib.util
import signal
import subprocess

import pytest
import torch
from mmengine.config import Config

from reliability_runs import (
    REPO_ROOT,
    ToyModel,
    describe,
    free_port,
    newest_log,
    read_losses,
    run_training,
    scalar_logs,
    tool_env,
    train_command,
    write_images,
    write_tiny_config,
)

EXTRACT = REPO_ROOT / 'tools' / 'extract_backbone.py'
KILL_AT_ITER = 6  # rank 0 dies after iteration 6 of 8: epoch 2, step 2

# Loaded through custom_imports by the killer config: SIGKILLs rank 0 once
# KILL_AT_ITER iterations are done (torchrun then stops rank 1), a real
# crash at a known point, without racing a timer.
KILLER_HOOK = '''
import os
import importlib.util
import signal

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SigkillRankZeroHook(Hook):

    def __init__(self, after_iter):
        self.after_iter = after_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.after_iter and get_rank() == 0:
            os.kill(os.getpid(), signal.SIGKILL)
'''

KILLER_CONFIG = '''
_base_ = {base!r}
custom_imports = dict(
    imports=['tscae_mm', 'tscae_mm.engine', 'tscae_mm.datasets.seeded',
             'sigkill_hook'],
    allow_failed_imports=False)
custom_hooks = [
    dict(type='ReproducibleRandomnessHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='SkippedImagesHook'),
    dict(type='GlobalBatchLossHook'),
    dict(type='SigkillRankZeroHook', after_iter={after_iter})]
'''


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Two runs of the tiny TSCAE on 2 CPU processes, 2 epochs of 4
    iterations (32 images, 4 per process): DDP and FSDP."""
    root = tmp_path_factory.mktemp('fsdp')
    data_root = write_images(root / 'data', count=32)
    config = write_tiny_config(
        root / 'tiny.py', data_root, batch_size=4, epochs=2)
    results = dict(root=root, config=config)
    for name, extra in (('ddp', []), ('fsdp', ['--fsdp'])):
        work_dir = root / name
        proc = run_training(
            config, work_dir, processes=2, extra=extra, port=free_port())
        assert proc.returncode == 0, describe(proc)
        results[name] = work_dir
        results[f'{name}_losses'] = read_losses(scalar_logs(work_dir)[-1])
    return results


@pytest.mark.slow
def test_fsdp_losses_equal_ddp_losses(runs):
    ddp, fsdp = runs['ddp_losses'], runs['fsdp_losses']
    assert sorted(ddp) == list(range(1, 9))
    assert sorted(fsdp) == sorted(ddp)
    for iteration, losses in ddp.items():
        assert fsdp[iteration] == pytest.approx(
            losses, rel=1e-6), f'iteration {iteration}'
    assert 'TSCAEFSDPStrategy' in newest_log(runs['fsdp'])


@pytest.mark.slow
def test_fsdp_checkpoint_is_a_full_ddp_like_checkpoint(runs):
    """Rank 0 writes the unsharded weights under the DDP run's names (and,
    as float32 sums agree to the bit here, the same values), loadable with
    weights_only=True through the package's allow-list."""
    import tscae_mm  # noqa: F401  (registers the allow-list)
    from tscae_mm.utils.compat import checkpoint_safe_globals
    path = runs['fsdp'] / 'epoch_2.pth'
    allowed = {
        item[1] if isinstance(item, tuple) else
        f'{item.__module__}.{item.__qualname__}'
        for item in checkpoint_safe_globals()
    }
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert set(needed) <= allowed, set(needed) - allowed
    fsdp = torch.load(path, map_location='cpu', weights_only=True)
    ddp = torch.load(
        runs['ddp'] / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert list(fsdp['state_dict']) == list(ddp['state_dict'])
    for key, value in ddp['state_dict'].items():
        torch.testing.assert_close(
            fsdp['state_dict'][key], value, rtol=1e-6, atol=1e-7)
    assert fsdp['meta']['epoch'] == 2 and fsdp['meta']['iter'] == 8
    # AdamW's states, keyed by name under FSDP and by index under DDP, in
    # the same parameter-group order: equal (exp_avg is not exp_avg_sq)
    names = [
        name for group in fsdp['optimizer']['param_groups']
        for name in group['params']
    ]
    indices = [
        index for group in ddp['optimizer']['param_groups']
        for index in group['params']
    ]
    assert len(names) == len(indices)
    compared = 0
    for name, index in zip(names, indices):
        if index not in ddp['optimizer']['state']:
            continue
        for key, value in ddp['optimizer']['state'][index].items():
            torch.testing.assert_close(
                fsdp['optimizer']['state'][name][key].reshape(value.shape),
                value, rtol=1e-6, atol=1e-9, msg=f'{name} {key}')
            compared += 1
    assert compared >= 3 * 60
    assert not list(runs['fsdp'].glob('*.tmp-*')), 'temporary file left'


@pytest.mark.slow
def test_extract_backbone_and_pretrained_init_from_fsdp_checkpoint(
        runs, tmp_path):
    from mmpretrain.registry import MODELS
    out = tmp_path / 'encoder.pth'
    spec = importlib.util.spec_from_file_location('extract_backbone', EXTRACT)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(runs['fsdp'] / 'epoch_2.pth'), str(out)])
    state = torch.load(
        runs['fsdp'] / 'epoch_2.pth', map_location='cpu',
        weights_only=True)['state_dict']
    backbone_cfg = dict(Config.fromfile(runs['config']).model.backbone)
    backbone_cfg.update(
        masked_pretraining=False,
        init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, state[f'backbone.{key}'])


@pytest.mark.slow
def test_sigkill_then_resume_under_fsdp_with_checkpointing(runs):
    """Rank 0 is SIGKILLed during epoch 2; ``--resume`` (here with
    activation checkpointing, which must not change a loss) continues from
    epoch_1.pth and reproduces the uninterrupted FSDP run's iterations."""
    root = runs['root']
    (root / 'sigkill_hook.py').write_text(KILLER_HOOK)
    killer = root / 'killer.py'
    killer.write_text(
        KILLER_CONFIG.format(base=str(runs['config']),
                             after_iter=KILL_AT_ITER))
    crashed = root / 'crashed'
    env = dict(tool_env(), PYTHONPATH=f'{REPO_ROOT}:{root}')
    env['PORT'] = str(free_port())
    proc = subprocess.run(
        train_command(killer, crashed, processes=2, extra=['--fsdp']),
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode != 0, describe(proc)
    assert f'exitcode  : -{int(signal.SIGKILL)}' in proc.stderr or \
        'SIGKILL' in proc.stderr, describe(proc)
    assert (crashed / 'epoch_1.pth').is_file()
    assert not (crashed / 'epoch_2.pth').exists(), 'killed too late'

    resumed_run = run_training(
        runs['config'], crashed, processes=2, port=free_port(),
        extra=['--fsdp', '--activation-checkpointing', '--resume'])
    assert resumed_run.returncode == 0, describe(resumed_run)
    assert f'Resuming from {crashed / "epoch_1.pth"}' in newest_log(crashed)
    resumed = read_losses(scalar_logs(crashed)[-1])
    assert sorted(resumed) == list(range(5, 9))
    for iteration, losses in resumed.items():
        assert losses == pytest.approx(
            runs['fsdp_losses'][iteration], rel=1e-6), f'iteration {iteration}'


def tiny_tscae(config, with_cp: bool):
    """The tests' tiny TSCAE (2 blocks, 64 wide, 32 px), seeded init."""
    from mmpretrain.registry import MODELS
    model_cfg = Config.fromfile(config).model
    model_cfg.backbone.with_cp = with_cp
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.train()


def tiny_batch(images=4, size=32, patch=4, mask_ratio=0.75):
    """Random images and TSCAE masks (the same share hidden per image)."""
    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(images, 3, size, size, generator=generator)
    patches = (size // patch)**2
    samples = []
    for _ in range(images):
        order = torch.randperm(patches, generator=generator)
        mask = torch.zeros(patches, dtype=torch.bool)
        mask[order[:int(patches * mask_ratio)]] = True
        sample = DataSample()
        sample.set_field(mask.reshape(size // patch, -1), 'mask')
        samples.append(sample)
    return inputs, samples


def loss_grads_and_saved_bytes(model, inputs, samples):
    """The losses, the parameters' gradients, and the bytes of the tensors
    autograd saved for backward during the forward."""
    saved = 0

    def pack(tensor):
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    grads = {
        name: param.grad.clone()
        for name, param in model.named_parameters() if param.grad is not None
    }
    return losses, grads, saved


def test_activation_checkpointing_same_losses_less_saved_memory(tmp_path):
    from tscae_mm.models.backbones.tscae_vit import CheckpointedEncoderLayer
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path)
    inputs, samples = tiny_batch()
    plain = tiny_tscae(config, with_cp=False)
    checkpointed = tiny_tscae(config, with_cp=True)
    assert all(
        type(layer) is CheckpointedEncoderLayer
        for layer in checkpointed.backbone.layers)
    assert list(plain.state_dict()) == list(checkpointed.state_dict())
    losses, grads, saved = loss_grads_and_saved_bytes(plain, inputs, samples)
    cp_losses, cp_grads, cp_saved = loss_grads_and_saved_bytes(
        checkpointed, inputs, samples)
    for key, value in losses.items():
        assert torch.equal(cp_losses[key], value), key
    assert set(cp_grads) == set(grads)
    for name, grad in grads.items():
        torch.testing.assert_close(
            cp_grads[name], grad, rtol=1e-6, atol=1e-7, msg=name)
    # checkpointing keeps each block's input (2N sequences of 1 + 64
    # tokens, 64 wide, float32) outside autograd's saved tensors: count it
    blocks = len(checkpointed.backbone.layers)
    kept_inputs = blocks * 2 * len(inputs) * 65 * 64 * 4
    print(f"saved {saved} B, checkpointed {cp_saved} + {kept_inputs} B")
    assert cp_saved + kept_inputs < 0.75 * saved, (cp_saved, saved)
    # the saved bytes of the blocks themselves are gone: without
    # checkpointing each block saves far more than its input
    assert saved - cp_saved > 4 * kept_inputs, (cp_saved, saved)


def test_checkpointing_off_without_gradients(tmp_path):
    """No recomputation where nothing is recorded (the recommended mode's
    no-grad student pass, evaluation): same outputs, nothing saved."""
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path)
    checkpointed = tiny_tscae(config, with_cp=True).backbone
    plain = tiny_tscae(config, with_cp=False).backbone
    inputs, _ = tiny_batch()
    with torch.no_grad():
        assert torch.equal(checkpointed(inputs)[0], plain(inputs)[0])


def test_fsdp_strategy_without_process_group_says_how_to_launch(tmp_path):
    from torch import nn

    from tscae_mm.engine import TSCAEFSDPStrategy
    strategy = TSCAEFSDPStrategy(work_dir=str(tmp_path))  # its log folder
    with pytest.raises(RuntimeError, match='tools/dist_train.sh'):
        strategy._wrap_model(nn.Linear(2, 2))


def test_fsdp_base_config_is_the_flag_default():
    from tscae_mm.utils.launch import DEFAULT_FSDP_STRATEGY
    base = Config.fromfile(REPO_ROOT / 'configs' / '_base_' / 'fsdp.py')
    assert base.strategy.to_dict() == DEFAULT_FSDP_STRATEGY


def test_wrap_policy_wraps_encoder_and_decoder_blocks(tmp_path):
    from tscae_mm.engine import transformer_block_wrap_policy
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path)
    model = tiny_tscae(config, with_cp=False)
    wrapped = [
        name for name, module in model.named_modules()
        if transformer_block_wrap_policy(module, False, 0)
    ]
    assert wrapped == ['backbone.layers.0', 'backbone.layers.1',
                       'neck.layers.0']
    assert transformer_block_wrap_policy(model, True, 0)


def test_flexible_runner_refuses_a_checkpoint_of_another_model():
    """The unsharded shapes the strategy recorded are compared with the
    checkpoint's before FSDP loads it (every rank, full or sharded)."""
    from types import SimpleNamespace

    from tscae_mm.engine import (
        CheckpointMismatchError,
        ReliableFlexibleRunner,
    )
    runner = ReliableFlexibleRunner.__new__(ReliableFlexibleRunner)
    runner.strategy = SimpleNamespace(
        full_state_shapes={'backbone.w': (4, 4), 'neck.b': (4, )})
    runner._hooks = []
    runner._checkpoint_loading = ('other.pth', [(r'^module\.', '')])
    fitting = dict(state_dict={
        'backbone.w': torch.zeros(4, 4), 'neck.b': torch.zeros(4)})
    runner.call_hook('after_load_checkpoint', checkpoint=fitting)
    misfit = dict(state_dict={
        'module.backbone.w': torch.zeros(8, 4), 'head.c': torch.zeros(1)})
    with pytest.raises(
            CheckpointMismatchError,
            match=r'(?s)other\.pth.*neck\.b.*head\.c.*'
            r'backbone\.w \(checkpoint \(8, 4\), model \(4, 4\)\)'):
        runner.call_hook('after_load_checkpoint', checkpoint=misfit)


def test_rank0_only_hooks_are_recognised_under_fsdp_strategies():
    from tscae_mm.engine.runners.reliable_flexible_runner import (
        is_fsdp_strategy,
    )
    assert is_fsdp_strategy(dict(type='TSCAEFSDPStrategy'))
    assert is_fsdp_strategy(dict(type='FSDPStrategy'))
    assert not is_fsdp_strategy(dict(type='DDPStrategy'))
    assert not is_fsdp_strategy(None)


def load_train_tool():
    path = REPO_ROOT / 'tools' / 'train.py'
    spec = importlib.util.spec_from_file_location('train_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_train_flags_select_fsdp_and_activation_checkpointing():
    tool = load_train_tool()
    config = str(REPO_ROOT / 'configs' / 'tscae' /
                 'tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py')
    plain = tool.merge_args(
        Config.fromfile(config), tool.parse_args([config]))
    assert plain.runner_type == 'ReliableRunner' and 'strategy' not in plain
    assert not plain.model.backbone.get('with_cp', False)
    cfg = tool.merge_args(
        Config.fromfile(config),
        tool.parse_args([config, '--fsdp', '--activation-checkpointing']))
    assert cfg.runner_type == 'ReliableFlexibleRunner'
    assert cfg.strategy.type == 'TSCAEFSDPStrategy'
    assert cfg.model.backbone.with_cp is True
    # the FSDP config says the same without the flag
    fsdp_config = Config.fromfile(
        REPO_ROOT / 'configs' / 'tscae' /
        'tscae_vit-large-p16_8xb64-amp-fsdp-cp-coslr-400e_coco.py')
    assert fsdp_config.runner_type == 'ReliableFlexibleRunner'
    assert fsdp_config.strategy.type == 'TSCAEFSDPStrategy'
    assert fsdp_config.model.backbone.with_cp is True


def test_activation_checkpointing_flag_names_an_unsupported_backbone():
    tool = load_train_tool()
    config = str(REPO_ROOT / 'configs' / 'mae' /
                 'mae_vit-base-p16_8xb64-amp-coslr-400e_coco.py')
    with pytest.raises(ValueError, match="TSCAEViT.*'MAEViT'"):
        tool.merge_args(
            Config.fromfile(config),
            tool.parse_args([config, '--activation-checkpointing']))


@pytest.mark.slow
def test_ddp_checkpoint_resumes_under_fsdp(runs, tmp_path):
    """A DDP run's epoch_1.pth (optimizer state keyed by position) resumed
    with --fsdp reproduces the DDP run's epoch 2 (equal to FSDP's)."""
    work_dir = tmp_path / 'ddp_to_fsdp'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes(
        (runs['ddp'] / 'epoch_1.pth').read_bytes())
    proc = run_training(
        runs['config'], work_dir, processes=2, port=free_port(),
        extra=['--fsdp', '--resume', str(work_dir / 'epoch_1.pth')])
    assert proc.returncode == 0, describe(proc)
    resumed = read_losses(scalar_logs(work_dir)[-1])
    assert sorted(resumed) == list(range(5, 9))
    for iteration, losses in resumed.items():
        assert losses == pytest.approx(
            runs['ddp_losses'][iteration], rel=1e-6), f'iteration {iteration}'


def test_collapse_monitor_is_left_out_under_fsdp(tmp_path):
    """The monitor runs the model on rank 0 alone, which a sharded model
    cannot do: the runner drops it and says so; other hooks stay."""
    from tscae_mm.engine import ReliableFlexibleRunner
    runner = ReliableFlexibleRunner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        experiment_name='fsdp_hooks',
        strategy=dict(type='TSCAEFSDPStrategy'),
        custom_hooks=[
            dict(type='TSCAECollapseMonitorHook', interval=1),
            dict(type='GlobalBatchLossHook')
        ],
        launcher='none',
        default_scope='mmengine')
    names = [type(hook).__name__ for hook in runner.hooks]
    assert 'GlobalBatchLossHook' in names
    assert 'TSCAECollapseMonitorHook' not in names
    assert 'TSCAECollapseMonitorHook is left out under FSDP' in newest_log(
        tmp_path)
