"""DeviceAmpOptimWrapper: our AMP configs' wrapper is MMEngine's
AmpOptimWrapper on a GPU and bfloat16 autocast without loss scaling on CPU,
so they train on CPU under mmpretrain's own tools/train.py too."""
import os
import os.path as osp

import mmpretrain
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, build_optim_wrapper

import tscae_mm  # noqa: F401
from tscae_mm.engine.optimizers import DeviceAmpOptimWrapper
from tscae_mm.utils import config_scope

from conftest import REPO_ROOT, run_tool

ON_GPU = torch.cuda.is_available()
AMP_CONFIGS = sorted(
    p for p in (REPO_ROOT / 'configs' / 'tscae').glob('*.py')
    if '-amp-' in p.name)
MMPRETRAIN_TRAIN = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')


@pytest.mark.skipif(ON_GPU, reason='the CPU behaviour')
def test_on_cpu_it_runs_bfloat16_without_loss_scaling():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    wrapper = build_optim_wrapper(model, dict(
        type='DeviceAmpOptimWrapper', loss_scale='dynamic',
        accumulative_counts=2, clip_grad=dict(max_norm=1e-3),
        optimizer=dict(type='SGD', lr=0.1)))
    assert isinstance(wrapper, AmpOptimWrapper) and wrapper.on_cpu
    assert wrapper.loss_scaler is None
    before = model.weight.detach().clone()
    for step in range(2):
        with wrapper.optim_context(model):
            output = model(torch.randn(3, 4))
        assert output.dtype == torch.bfloat16
        wrapper.update_params(output.float().pow(2).mean() * 1e3)
        if step == 0:  # accumulating: no step yet
            assert torch.equal(model.weight, before)
    change = (model.weight - before).abs()
    assert 0 < change.norm() <= 0.1 * 1e-3 * 1.01  # lr x clipped norm
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    # a checkpoint written on a GPU (with a loss scaler) resumes on CPU
    wrapper.load_state_dict(dict(state, loss_scaler={'scale': 65536.}))


@pytest.mark.skipif(ON_GPU, reason='the CPU behaviour')
def test_on_cpu_loss_scale_is_checked_and_dtype_is_bfloat16():
    model = torch.nn.Linear(4, 2)
    for loss_scale in ('dynamic', 512., dict(init_scale=1024.)):
        DeviceAmpOptimWrapper(
            loss_scale=loss_scale,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="loss_scale must be 'dynamic'"):
        DeviceAmpOptimWrapper(
            loss_scale='static',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper = DeviceAmpOptimWrapper(
        dtype='float16', optimizer=torch.optim.SGD(model.parameters(), lr=1))
    assert wrapper.cast_dtype == torch.bfloat16


@pytest.mark.skipif(not ON_GPU, reason='needs CUDA')
def test_on_gpu_it_is_amp_optim_wrapper():
    model = torch.nn.Linear(4, 2).cuda()
    wrapper = DeviceAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert not wrapper.on_cpu and wrapper.loss_scaler is not None
    with wrapper.optim_context(model):
        output = model(torch.randn(3, 4, device='cuda'))
    assert output.dtype == torch.float16
    wrapper.update_params(output.float().pow(2).mean())
    assert 'loss_scaler' in wrapper.state_dict()


@pytest.mark.parametrize('path', AMP_CONFIGS, ids=lambda p: p.stem)
def test_our_amp_configs_use_it(path):
    optim_wrapper = Config.fromfile(str(path)).optim_wrapper
    assert optim_wrapper.type == 'DeviceAmpOptimWrapper'
    assert optim_wrapper.loss_scale == 'dynamic'


@pytest.mark.slow
def test_an_amp_config_trains_on_cpu_with_mmpretrain_own_script(tmp_path):
    """A client config (outside the checkout) with our AMP configs'
    optim_wrapper on the demo's model trains 2 iterations with mmpretrain's
    own tools/train.py, which knows nothing of CPU mixed precision."""
    recommended = Config.fromfile(str(
        REPO_ROOT / 'configs' / 'tscae' /
        'tscae_vit-base-p16_8xb64-amp-recommended-coslr-400e_coco.py'))
    amp = {key: recommended.optim_wrapper[key]
           for key in ('type', 'loss_scale')}
    client = tmp_path / 'my_project'
    client.mkdir()
    (client / 'my_amp.py').write_text(
        f"_base_ = '{{{{${config_scope.CONFIGS_ENV}:/nowhere}}}}"
        "/tscae/tscae_vit-tiny-p4_demo.py'\n"
        f'optim_wrapper = dict(**{amp!r})\n'
        'train_dataloader = dict(batch_size=8, num_workers=0,\n'
        '    persistent_workers=False, dataset=dict(dataset=dict('
        'indices=16)))\n'
        'train_cfg = dict(max_epochs=1)\n')
    env = {config_scope.CONFIGS_ENV: config_scope.configs_dir(),
           'CUDA_VISIBLE_DEVICES': ''}
    proc = run_tool([MMPRETRAIN_TRAIN, 'my_amp.py', '--work-dir', 'work'],
                    cwd=client, checkout_on_path=False, env=env)
    log = proc.stdout + proc.stderr
    assert "type='DeviceAmpOptimWrapper'" in log
    assert 'mixed precision runs on CPU in bfloat16' in log
    checkpoint = torch.load(client / 'work' / 'epoch_1.pth',
                            weights_only=False)
    assert checkpoint['meta']['iter'] == 2
    assert 'loss_scaler' not in checkpoint['optimizer']
    assert os.path.isfile(client / 'work' / 'last_checkpoint')


def test_fsdp_gives_it_the_sharded_loss_scaler(monkeypatch):
    """As MMEngine's FSDP strategy does for AmpOptimWrapper."""
    from mmengine._strategy import FSDPStrategy

    from tscae_mm.engine import TSCAEFSDPStrategy
    seen = []
    monkeypatch.setattr(FSDPStrategy, 'build_optim_wrapper',
                        lambda self, cfg, model=None: seen.append(cfg))
    strategy = TSCAEFSDPStrategy.__new__(TSCAEFSDPStrategy)
    strategy.build_optim_wrapper(dict(type='DeviceAmpOptimWrapper'))
    strategy.build_optim_wrapper(dict(type='OptimWrapper'))
    assert seen[0]['use_fsdp'] is True and 'use_fsdp' not in seen[1]
