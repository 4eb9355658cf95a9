"""Shared fixtures: paths, and the CIFAR-10 JPEG folders from ../shared.

The CIFAR-10 archive (``cifar10/{train,test}/<class>/*.jpg``) is the one thing
the tests take from outside the repository: ``../shared/data/
cifar10-jpg.tar.gz`` beside the checkout, or the file that
``TSCAE_CIFAR_ARCHIVE`` names. Without it, the tests that need it skip and
say why (the ``cifar_archive`` and ``cifar10_root`` fixtures).
"""
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from mmengine.registry import DefaultScope

REPO_ROOT = Path(__file__).resolve().parents[1]
CIFAR_ARCHIVE = Path(
    os.environ.get(
        'TSCAE_CIFAR_ARCHIVE',
        REPO_ROOT.parent / 'shared' / 'data' / 'cifar10-jpg.tar.gz'))
CIFAR_MISSING = (f'the CIFAR-10 JPEG archive {CIFAR_ARCHIVE} is missing: put '
                 '../shared beside the checkout or set TSCAE_CIFAR_ARCHIVE '
                 'to cifar10-jpg.tar.gz (cifar10/{train,test}/<class>/*.jpg)')
DEMO_CONFIG = REPO_ROOT / 'configs' / 'tscae' / 'tscae_vit-tiny-p4_demo.py'


@pytest.fixture(autouse=True, scope='module')
def mmpretrain_default_scope_for_module_fixtures():
    """Module-scoped fixtures (models built once per file) start in
    mmpretrain's scope too; autouse fixtures run before others of their
    scope."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture(autouse=True)
def mmpretrain_default_scope():
    """Each test starts in mmpretrain's scope, whatever an earlier test's
    Runner left as MMEngine's current default scope."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def demo_config() -> Path:
    return DEMO_CONFIG


@pytest.fixture(scope='session')
def cifar_archive() -> Path:
    """The CIFAR-10 JPEG archive; the test skips, saying why, without it."""
    if not CIFAR_ARCHIVE.exists():
        pytest.skip(CIFAR_MISSING)
    return CIFAR_ARCHIVE


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory, cifar_archive) -> Path:
    """../shared's CIFAR-10 (train/, test/ class folders), extracted once."""
    out = tmp_path_factory.mktemp('cifar10')
    with tarfile.open(CIFAR_ARCHIVE) as archive:
        archive.extractall(out, filter='data')
    return out / 'cifar10'


def run_tool(args, cwd=REPO_ROOT, timeout=600, env=None,
             checkout_on_path=True):
    """Run a repo tool with this interpreter; fail with its output if it
    fails. ``checkout_on_path=False``: the tool finds tscae_mm only as
    installed, as a user's shell would (no PYTHONPATH)."""
    full_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT),
                    OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    if not checkout_on_path:
        full_env.pop('PYTHONPATH')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{args} exited {proc.returncode}\n--- stdout\n'
                    f'{proc.stdout[-4000:]}\n--- stderr\n'
                    f'{proc.stderr[-6000:]}')
    return proc


def build_wheel(tmp_path):
    """The wheel ``pip install .`` would install, built from a copy of the
    files git tracks or would track (the working tree as committed)."""
    source = tmp_path / 'src'
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others',
                            '--exclude-standard'], cwd=REPO_ROOT,
                           capture_output=True, text=True,
                           check=True).stdout.split('\0')
    for name in filter(None, files):
        target = source / name
        origin = REPO_ROOT / name
        if origin.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(origin))
        elif origin.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(origin, target)
    proc = subprocess.run(
        [sys.executable, '-c',
         'from setuptools import build_meta; '
         f'print(build_meta.build_wheel({str(tmp_path / "dist")!r}))'],
        cwd=source, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp_path / 'dist' / proc.stdout.split()[-1]
