"""tools/train.py, tools/test.py and tools/dist_train.sh on a tiny classifier.

The config (written to a temporary folder) trains an mmpretrain
ImageClassifier with a one-layer ViT on eight generated 16 px images, so each
run takes seconds; only the launchers are under test here.
"""
import importlib.util
import os
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS as MMPRETRAIN_RUNNERS
from PIL import Image

import tscae_mm  # noqa: F401  (checkpoint allow-list for torch.load)
from tscae_mm.utils import CPUAmpOptimWrapper, build_runner, prepare_launcher

from conftest import REPO_ROOT, run_tool
from tiny_configs import TINY_CLASSIFIER_CONFIG

TRAIN_PY = REPO_ROOT / 'tools' / 'train.py'
TEST_PY = REPO_ROOT / 'tools' / 'test.py'
DIST_TRAIN_SH = REPO_ROOT / 'tools' / 'dist_train.sh'


def write_image_folders(root, per_class=4, size=16):
    """Two class folders of random RGB PNGs: root/{dark,light}/<i>.png."""
    rng = np.random.default_rng(0)
    for class_index, name in enumerate(('dark', 'light')):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 128, (size, size, 3)) + 127 * class_index
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f'{i}.png')


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    """Path of the tiny classifier config, with its images."""
    root = tmp_path_factory.mktemp('tiny_classifier')
    write_image_folders(root / 'images')
    config = root / 'tiny_classifier.py'
    config.write_text(
        TINY_CLASSIFIER_CONFIG.format(data_root=str(root / 'images')))
    return config


def load_tool(path):
    """Import a tools/*.py script as a module (to test its functions)."""
    spec = importlib.util.spec_from_file_location(path.stem + '_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_train_amp_writes_checkpoint_and_test_evaluates_it(
        tiny_config, tmp_path):
    work_dir = tmp_path / 'work'
    proc = run_tool([TRAIN_PY, tiny_config, '--work-dir', work_dir, '--amp'])
    assert "type='DeviceAmpOptimWrapper'" in proc.stdout + proc.stderr
    if not torch.cuda.is_available():
        assert 'DeviceAmpOptimWrapper: no GPU, mixed precision runs on CPU ' \
            'in bfloat16' in proc.stdout + proc.stderr
    # mmengine's own Runner (no runner_type): build_runner logs the threads
    assert (proc.stdout + proc.stderr).count('CPU threads: ') == 1
    checkpoint = work_dir / 'iter_2.pth'
    saved = torch.load(checkpoint)
    assert saved['meta']['iter'] == 2
    # float16 on CUDA scales the loss; bfloat16 on CPU has no scaler
    assert ('loss_scaler' in saved['optimizer']) == torch.cuda.is_available()

    predictions = tmp_path / 'predictions.pkl'
    proc = run_tool([
        TEST_PY, tiny_config, checkpoint, '--work-dir', tmp_path / 'test',
        '--out', predictions
    ])
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    assert 'CPU threads: ' in proc.stdout + proc.stderr
    with open(predictions, 'rb') as dumped:
        assert len(pickle.load(dumped)) == 8


def test_cpu_amp_wrapper_runs_bfloat16_without_loss_scaling():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        accumulative_counts=2, clip_grad=dict(max_norm=1e-3))
    # the parent's set-up ran: accumulation and clipping are configured
    assert wrapper._accumulative_counts == 2 and wrapper.clip_grad_kwargs
    before = model.weight.detach().clone()
    for step in range(2):
        with wrapper.optim_context(model):
            output = model(torch.randn(3, 4))
        assert output.dtype == torch.bfloat16
        wrapper.update_params(output.float().pow(2).mean() * 1e3)
        if step == 0:  # accumulating: no step yet
            assert torch.equal(model.weight, before)
    change = (model.weight - before).abs()
    assert change.max() > 0
    assert change.norm() <= 0.1 * 1e-3 * 1.01  # lr x clipped grad norm
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    # a checkpoint of the former loss-scaling wrapper still resumes
    wrapper.load_state_dict(dict(state, loss_scaler={'scale': 65536.}))
    with pytest.raises(TypeError, match='no loss_scale'):
        CPUAmpOptimWrapper(
            loss_scale='dynamic',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))

    with pytest.raises(ValueError, match="dtype='bfloat16'"):
        CPUAmpOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def test_train_options_reach_the_config(tiny_config):
    train = load_tool(TRAIN_PY)
    args = train.parse_args([
        str(tiny_config), '--work-dir', 'w', '--amp', '--auto-scale-lr',
        '--resume', '--cfg-options', 'train_cfg.max_iters=5'
    ])
    cfg = train.merge_args(Config.fromfile(args.config), args)
    assert cfg.work_dir == 'w'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.auto_scale_lr.enable is True
    assert cfg.train_cfg.max_iters == 5
    # the wrapper fits the device when it is built: float16 with dynamic
    # loss scaling on a GPU, bfloat16 without (loss_scale unused) on CPU
    assert cfg.optim_wrapper.type == 'DeviceAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'

    args = train.parse_args([str(tiny_config), '--resume', 'some/iter_2.pth'])
    cfg = train.merge_args(Config.fromfile(args.config), args)
    assert cfg.resume is True and cfg.load_from == 'some/iter_2.pth'
    assert cfg.work_dir.endswith(os.path.join('work_dirs', 'tiny_classifier'))


def test_a_toolbox_amp_config_runs_as_the_device_fitting_wrapper():
    from tscae_mm.utils import fit_amp_to_device
    cfg = Config(dict(optim_wrapper=dict(
        type='AmpOptimWrapper', loss_scale=512., dtype='float16',
        optimizer=dict(type='SGD', lr=0.1))))
    fit_amp_to_device(cfg)
    if torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        return
    assert cfg.optim_wrapper == dict(
        type='DeviceAmpOptimWrapper', loss_scale=512., dtype='float16',
        optimizer=dict(type='SGD', lr=0.1))
    from mmengine.registry import OPTIM_WRAPPERS
    model = torch.nn.Linear(2, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(
        cfg.optim_wrapper,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert wrapper.on_cpu and wrapper.cast_dtype == torch.bfloat16
    # a config without AMP is left alone
    plain = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    fit_amp_to_device(plain)
    assert plain.optim_wrapper.type == 'OptimWrapper'



def test_runner_type_is_looked_up_in_the_config_scope(tiny_config, tmp_path):
    """A runner registered only in mmpretrain's RUNNERS is found."""

    @MMPRETRAIN_RUNNERS.register_module(force=True)
    class ScopedTestRunner(Runner):
        pass

    cfg = Config.fromfile(tiny_config)
    cfg.runner_type = 'ScopedTestRunner'
    cfg.work_dir = str(tmp_path)
    assert isinstance(build_runner(cfg), ScopedTestRunner)


def test_test_refuses_config_without_test_loop(tiny_config, tmp_path):
    config = tmp_path / 'no_test.py'
    config.write_text(f"_base_ = {str(tiny_config)!r}\n"
                      'test_dataloader = None\ntest_evaluator = None\n')
    test = load_tool(TEST_PY)
    args = test.parse_args([str(config), 'ckpt.pth'])
    with pytest.raises(ValueError, match='test_dataloader, test_evaluator'):
        test.merge_args(Config.fromfile(args.config), args)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU-only launcher path')
def test_cpu_launcher_starts_gloo_and_cpu_ddp(monkeypatch):
    cfg = Config(dict(find_unused_parameters=True))
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match='MASTER_ADDR, MASTER_PORT'):
        prepare_launcher(cfg, 'pytorch')
    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        prepare_launcher(cfg, 'slurm')

    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    prepare_launcher(cfg, 'pytorch')
    try:
        assert torch.distributed.get_backend() == 'gloo'
    finally:
        torch.distributed.destroy_process_group()
    assert cfg.launcher == 'pytorch'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)


@pytest.mark.slow
def test_dist_train_runs_two_processes(tiny_config, tmp_path):
    work_dir = tmp_path / 'dist'
    env = dict(
        os.environ,
        PORT=str(free_port()),
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1')
    proc = subprocess.run([
        'bash',
        str(DIST_TRAIN_SH),
        str(tiny_config), '2', '--work-dir',
        str(work_dir)
    ],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert 'Distributed training: True' in output
    assert 'GPU number: 2' in output  # MMEngine's name for the world size
    if not torch.cuda.is_available():
        assert "dist_cfg: {'backend': 'gloo'}" in output
        assert 'device_ids=None' in output
    assert (work_dir / 'iter_2.pth').is_file()


@pytest.mark.parametrize('synchronize', [True, False])
def test_release_process_group_destroys_it(synchronize):
    from tscae_mm.utils import release_process_group
    release_process_group(synchronize)  # none started: nothing to do
    torch.distributed.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
        world_size=1)
    try:
        release_process_group(synchronize)  # barrier of one, then destroy
        assert not torch.distributed.is_initialized()
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
