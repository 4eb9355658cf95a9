"""``tscae_mm::<path>`` bases: a config anywhere inherits the configs that
tscae_mm ships (``_tscae_mm_scope``), in this interpreter and in a fresh one
started the way the toolboxes' own scripts are."""
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from mmengine.config import Config

import _tscae_mm_scope

from conftest import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
SHIPPED = sorted(
    str(path.relative_to(CONFIGS)) for path in CONFIGS.rglob('*.py'))


@pytest.fixture(autouse=True)
def scope_hook():
    _tscae_mm_scope.install()


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


def test_the_package_links_its_configs_and_tools():
    mim = REPO_ROOT / 'tscae_mm' / '.mim'
    assert (mim / 'configs').resolve() == CONFIGS
    assert (mim / 'tools' / 'train.py').resolve() == \
        REPO_ROOT / 'tools' / 'train.py'
    assert (mim / 'model-index.yml').resolve() == REPO_ROOT / 'model-index.yml'
    assert _tscae_mm_scope.package_dir() == str(REPO_ROOT / 'tscae_mm')


@pytest.mark.parametrize('relative', SHIPPED)
def test_every_config_resolves_the_same_through_the_scope(
        relative, tmp_path):
    """Inherited unchanged from another directory, each config resolves to
    the dict it has in the checkout, with no ``_scope_`` of its own: it
    builds in the registries of the toolbox its default_scope names."""
    direct = Config.fromfile(CONFIGS / relative).to_dict()
    inherited = Config.fromfile(
        client_config(tmp_path, f'tscae_mm::{relative}')).to_dict()
    assert real_paths(inherited) == real_paths(direct)
    assert "'_scope_': 'tscae_mm'" not in repr(inherited)


def test_a_config_the_package_does_not_ship_is_a_clear_error(tmp_path):
    path = client_config(
        tmp_path, 'tscae_mm::tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e'
        '_cocoo.py')
    with pytest.raises(FileNotFoundError) as error:
        Config.fromfile(path)
    message = str(error.value)
    assert "ships no config 'tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e" \
        "_cocoo.py'" in message
    assert 'Close names: tscae/tscae_vit-base-p16_8xb64-amp-coslr-400e_coco' \
        '.py' in message


def test_other_packages_bases_still_resolve(tmp_path):
    path = client_config(tmp_path, 'mmpretrain::_base_/default_runtime.py')
    assert Config.fromfile(path).default_scope == 'mmpretrain'


def fresh_interpreter(code, cwd):
    """A new interpreter that finds tscae_mm only as installed (no
    PYTHONPATH, not started in the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_fresh_interpreter_resolves_the_scope_before_any_import(tmp_path):
    """What mmpretrain's or mmdet's own tools/train.py does first: parse the
    config, with nothing of ours imported."""
    client_config(
        tmp_path, 'tscae_mm::benchmarks/mmdet/'
        'tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py')
    proc = fresh_interpreter(
        'import sys\n'
        'from mmengine.config import Config\n'
        "cfg = Config.fromfile('client.py', import_custom_modules=False)\n"
        "assert 'tscae_mm' not in sys.modules\n"
        'print(cfg.model.backbone.type, cfg.default_scope)\n', tmp_path)
    hook = os.path.join(
        fresh_interpreter(
            'import sysconfig; print(sysconfig.get_paths()["purelib"])',
            tmp_path).stdout.strip(), _tscae_mm_scope.PTH_NAME)
    assert proc.returncode == 0, (
        f'{proc.stderr[-3000:]}\n(is {hook} there? `python -m '
        '_tscae_mm_scope --install` writes it; scripts/setup_env.sh runs '
        'that)')
    assert proc.stdout.split()[-2:] == ['TSCAEViT', 'mmdet']


def test_a_wheel_carries_the_configs_tools_and_hook(tmp_path):
    """``pip install .`` (a wheel, not editable) gets copies of the configs
    and tools under tscae_mm/.mim and the start-up hook in site-packages."""
    source = tmp_path / 'src'
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others',
                            '--exclude-standard'], cwd=REPO_ROOT,
                           capture_output=True, text=True,
                           check=True).stdout.split('\0')
    for name in filter(None, files):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        origin = REPO_ROOT / name
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        elif origin.is_file():
            shutil.copy(origin, target)
    proc = subprocess.run(
        [sys.executable, '-c',
         'from setuptools import build_meta; '
         f'print(build_meta.build_wheel({str(tmp_path / "dist")!r}))'],
        cwd=source, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = tmp_path / 'dist' / proc.stdout.split()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'tscae_mm-scope.pth' in names
    assert '_tscae_mm_scope.py' in names
    assert 'tscae_mm/.mim/model-index.yml' in names
    assert 'tscae_mm/.mim/tools/train.py' in names
    # the demo config reads {{ fileDirname }}/../../demo/cifar10-mini
    assert any(name.startswith('tscae_mm/.mim/demo/cifar10-mini/')
               for name in names)
    shipped = {
        name[len('tscae_mm/.mim/configs/'):]
        for name in names if name.startswith('tscae_mm/.mim/configs/')
        and name.endswith('.py')
    }
    assert shipped == set(SHIPPED)
    assert 'tscae_mm/.mim/configs/tscae/metafile.yml' in names
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read('tscae_mm-scope.pth').decode() == \
            _tscae_mm_scope.PTH_LINE
        # the wheel's tools run from its tscae_mm/.mim/tools (what `mim
        # train tscae_mm` calls) and import the wheel's package
        site = tmp_path / 'site'
        archive.extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run(
        [sys.executable, str(site / 'tscae_mm' / '.mim' / 'tools' /
                             'train.py'), '--help'], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'config file path' in proc.stdout
    proc = subprocess.run(
        [sys.executable, '-c', 'import tscae_mm; print(tscae_mm.__file__)'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == str(site / 'tscae_mm' / '__init__.py')
