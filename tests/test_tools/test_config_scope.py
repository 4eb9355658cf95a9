"""Our configs inherited from another directory, and nothing of ours at
interpreter start: ``tscae_mm::<path>`` bases resolve where
:mod:`tscae_mm.utils.config_scope` is enabled (our tools/train.py and
tools/test.py), path bases everywhere; no start-up hook, and MMEngine is left
as shipped unless a caller enables the scope."""
import glob
import os
import site
import subprocess
import sys
import sysconfig

import mmengine
import pytest
from mmengine.config import Config

from tscae_mm.utils import config_scope

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

CONFIGS = REPO_ROOT / 'configs'
SHIPPED = sorted(
    str(path.relative_to(CONFIGS)) for path in CONFIGS.rglob('*.py'))
MMENGINE_GET_CFG_PATH = Config._get_cfg_path
SHORT_DEMO_RUN = (
    "train_dataloader = dict(batch_size=8, num_workers=0,\n"
    "    persistent_workers=False, dataset=dict(dataset=dict(indices=16)))\n"
    "train_cfg = dict(max_epochs=1)\n")


@pytest.fixture(autouse=True)
def scope_off():
    """Every test starts and ends with MMEngine's own resolution."""
    config_scope.disable()
    yield
    config_scope.disable()


def real_paths(value):
    """The config with every existing path made canonical (a path built
    from ``{{ fileDirname }}`` names the same folder by another route)."""
    if isinstance(value, dict):
        return {k: real_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(real_paths(v) for v in value)
    if isinstance(value, str) and '/' in value and os.path.exists(value):
        return os.path.realpath(value)
    return value


def client_config(folder, base, body=''):
    path = folder / 'client.py'
    path.write_text(f'_base_ = {base!r}\n{body}')
    return path


def fresh_interpreter(args, cwd):
    """A new interpreter that finds tscae_mm only as installed (no
    PYTHONPATH, not started in the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_package_links_its_configs_and_tools():
    mim = REPO_ROOT / 'tscae_mm' / '.mim'
    assert (mim / 'configs').resolve() == CONFIGS
    assert (mim / 'tools' / 'train.py').resolve() == \
        REPO_ROOT / 'tools' / 'train.py'
    assert (mim / 'model-index.yml').resolve() == REPO_ROOT / 'model-index.yml'
    assert config_scope.configs_dir() == str(CONFIGS)


@pytest.mark.slow
def test_one_command_prints_the_configs_folder(tmp_path):
    proc = fresh_interpreter(['-m', 'tscae_mm.utils.config_scope'], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(CONFIGS)


# one of each kind: a demo, a variant, a detection and a segmentation config
EXAMPLES = [
    'tscae/tscae_vit-tiny-p4_demo.py',
    'tscae/tscae_vit-base-p16_8xb64-amp-recommended-coslr-400e_coco.py',
    'benchmarks/mmdet/'
    'tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py',
    'benchmarks/mmseg/tscae_vit-tiny-p4_upernet_1xb4-40i_mini-voc12aug.py',
]


@pytest.mark.parametrize('relative', EXAMPLES)
def test_a_config_resolves_the_same_through_the_scope(relative, tmp_path):
    """Inherited unchanged from another directory, the config resolves to
    the dict it has in the checkout, with no ``_scope_`` of its own: it
    builds in the registries of the toolbox its default_scope names."""
    test_every_config_resolves_the_same_through_the_scope(relative, tmp_path)


@pytest.mark.slow  # every config: about a second each
@pytest.mark.parametrize('relative', SHIPPED)
def test_every_config_resolves_the_same_through_the_scope(
        relative, tmp_path):
    direct = Config.fromfile(CONFIGS / relative).to_dict()
    with config_scope.enabled():
        inherited = Config.fromfile(
            client_config(tmp_path, f'tscae_mm::{relative}')).to_dict()
    assert real_paths(inherited) == real_paths(direct)
    assert "'_scope_': 'tscae_mm'" not in repr(inherited)


@pytest.mark.parametrize('relative', EXAMPLES)
def test_a_path_base_through_an_environment_variable(
        relative, tmp_path, monkeypatch):
    """What the toolboxes' own scripts read as shipped: MMEngine substitutes
    ``{{$TSCAE_MM_CONFIGS:default}}`` before it reads the bases; unset, the
    default after the colon is used."""
    direct = real_paths(Config.fromfile(CONFIGS / relative).to_dict())
    monkeypatch.setenv(config_scope.CONFIGS_ENV, config_scope.configs_dir())
    path = client_config(
        tmp_path, f'{{{{${config_scope.CONFIGS_ENV}:/nowhere}}}}/{relative}')
    assert real_paths(Config.fromfile(path).to_dict()) == direct
    monkeypatch.delenv(config_scope.CONFIGS_ENV)
    path = client_config(
        tmp_path,
        f'{{{{${config_scope.CONFIGS_ENV}:{CONFIGS}}}}}/{relative}')
    assert real_paths(Config.fromfile(path).to_dict()) == direct
    assert not config_scope.is_enabled()


def test_the_scope_is_off_unless_a_caller_enables_it(tmp_path):
    import tscae_mm  # noqa: F401  importing the package changes nothing
    assert Config._get_cfg_path is MMENGINE_GET_CFG_PATH
    path = client_config(tmp_path, 'tscae_mm::tscae/tscae_vit-tiny-p4_demo.py')
    with pytest.raises(AssertionError,
                       match='mmengine does not support to load tscae_mm'):
        Config.fromfile(path)
    with config_scope.enabled():
        assert Config.fromfile(path).model.type == 'TSCAE'
    assert Config._get_cfg_path is MMENGINE_GET_CFG_PATH
    config_scope.enable()
    config_scope.enable()  # idempotent
    assert Config.fromfile(path).model.type == 'TSCAE'
    config_scope.disable()
    assert Config._get_cfg_path is MMENGINE_GET_CFG_PATH


def test_a_config_the_package_does_not_ship_is_a_clear_error(tmp_path):
    path = client_config(
        tmp_path, 'tscae_mm::tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e'
        '_cocoo.py')
    with config_scope.enabled(), pytest.raises(
            config_scope.ConfigNotShipped) as error:
        Config.fromfile(path)
    message = str(error.value)
    assert "ships no config 'tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e" \
        "_cocoo.py'" in message
    assert 'Close names: tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e_coco' \
        '.py' in message


def test_other_packages_bases_still_resolve(tmp_path):
    path = client_config(tmp_path, 'mmpretrain::_base_/default_runtime.py')
    with config_scope.enabled():
        assert Config.fromfile(path).default_scope == 'mmpretrain'


def test_another_mmengine_release_is_left_as_it_is(monkeypatch):
    """The wrapped function is private to MMEngine 0.10: elsewhere enable()
    says what to do instead and changes nothing."""
    monkeypatch.setattr(mmengine, '__version__', '0.11.0')
    with pytest.warns(UserWarning, match='Inherit our configs by path'):
        config_scope.enable()
    assert not config_scope.is_enabled()
    assert Config._get_cfg_path is MMENGINE_GET_CFG_PATH


def site_folders():
    folders = {sysconfig.get_paths()['purelib'],
               sysconfig.get_paths()['platlib'], *site.getsitepackages()}
    if site.ENABLE_USER_SITE:
        folders.add(site.getusersitepackages())
    return sorted(f for f in folders if os.path.isdir(f))


def test_no_start_up_hook_of_ours_in_site_packages():
    """The only .pth file naming tscae_mm is the one ``pip install -e``
    writes for any package (setuptools' finder for the editable install; a
    wheel install has none: tests/test_tools/test_packaging.py)."""
    for folder in site_folders():
        assert not os.path.exists(os.path.join(folder, 'tscae_mm-scope.pth'))
        for pth in glob.glob(os.path.join(folder, '*.pth')):
            with open(pth) as f:
                text = f.read()
            if 'tscae' in text or 'tscae' in os.path.basename(pth):
                assert os.path.basename(pth).startswith(
                    '__editable__.tscae_mm-'), pth
                assert '_tscae_mm_scope' not in text, pth


@pytest.mark.slow
def test_nothing_of_ours_runs_at_interpreter_start(tmp_path):
    """``python -X importtime -c pass`` imports no module of ours, and
    MMEngine's config parsing is its own in a fresh interpreter."""
    proc = fresh_interpreter(['-X', 'importtime', '-c', 'pass'], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = [line.rsplit('|', 1)[-1].strip()
                for line in proc.stderr.splitlines()
                if line.startswith('import time:')]
    assert 'site' in imported
    ours = [name for name in imported if 'tscae' in name and not (
        name.startswith('__editable___tscae_mm_') and
        name.endswith('_finder'))]
    assert ours == []
    proc = fresh_interpreter([
        '-c', 'import sys\n'
        'from mmengine.config import Config\n'
        "print(Config._get_cfg_path.__module__)\n"
        "print(sorted(m for m in sys.modules if 'tscae' in m and not "
        "m.startswith('__editable__')))\n"
        "print([type(f).__module__ for f in sys.meta_path])"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    module, modules, finders = proc.stdout.splitlines()
    assert module == 'mmengine.config.config'
    assert modules == '[]'
    assert 'scope' not in finders


@pytest.mark.slow
def test_our_tools_read_a_tscae_mm_base_from_a_client_directory(tmp_path):
    """A client repository's config written ``tscae_mm::<path>`` trains with
    our tools/train.py (tscae_mm found only as installed); tools/test.py
    reads it too (and then refuses a config without a test loop)."""
    client = tmp_path / 'my_project'
    (client / 'configs').mkdir(parents=True)
    (client / 'configs' / 'my_demo.py').write_text(
        "_base_ = 'tscae_mm::tscae/tscae_vit-tiny-p4_demo.py'\n" +
        SHORT_DEMO_RUN)
    run_tool([
        REPO_ROOT / 'tools' / 'train.py', 'configs/my_demo.py',
        '--work-dir', 'work_dirs/my_demo'
    ], cwd=client, checkout_on_path=False)
    checkpoint = client / 'work_dirs' / 'my_demo' / 'epoch_1.pth'
    assert checkpoint.is_file()
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'),
         'configs/my_demo.py', str(checkpoint)], cwd=client,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'configs/my_demo.py defines no test: test_dataloader' in \
        proc.stderr


def test_the_demo_is_named_by_the_path_under_configs():
    with config_scope.enabled():
        assert config_scope.config_path(
            'tscae_mm::tscae/tscae_vit-tiny-p4_demo.py') == str(DEMO_CONFIG)
