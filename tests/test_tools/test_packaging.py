"""The package as a user installs it: ranges that the tested pins satisfy,
an install into an environment that already has the stack changes nothing
else, a wheel carries the configs and tools and no start-up hook, and the
tree is clean under the lint configuration."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement

from conftest import REPO_ROOT, build_wheel


def requirement_lines(name):
    lines = []
    for line in (REPO_ROOT / 'requirements' / f'{name}.txt').read_text(
    ).splitlines():
        line = line.split('#', 1)[0].strip()
        if line and not line.startswith('-'):
            lines.append(Requirement(line))
    return lines


def test_tested_pins_satisfy_the_declared_ranges():
    pins = {r.name.lower(): r for r in requirement_lines('constraints')}
    for name in ('runtime', 'downstream', 'tests'):
        for req in requirement_lines(name):
            pin = pins.get(req.name.lower())
            if pin is None or not str(pin.specifier).startswith('=='):
                continue
            version = str(pin.specifier)[2:]
            assert req.specifier.contains(version, prereleases=True), (
                f'{name}.txt: {req} excludes the tested {pin}')
    # ranges, not pins: a user's environment keeps its own versions
    for req in requirement_lines('runtime'):
        assert not str(req.specifier).startswith('=='), req


@pytest.mark.slow
def test_editable_install_into_the_stack_changes_nothing_else(tmp_path):
    """What `pip install -e .[tests]` would do here: install tscae_mm and
    nothing else (no index: every dependency must already be satisfied)."""
    report = tmp_path / 'report.json'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index',
         '--no-build-isolation', '--disable-pip-version-check', '-q',
         '--report', str(report), '-e', f'{REPO_ROOT}[tests]'],
        check=True, capture_output=True, text=True, cwd=tmp_path)
    installs = [(item['metadata']['name'], item['metadata']['version'])
                for item in json.loads(report.read_text())['install']]
    assert installs == [('tscae_mm', installs[0][1])], installs
    check = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_license_and_metadata():
    text = (REPO_ROOT / 'LICENSE').read_text()
    assert 'Apache License' in text and 'Version 2.0' in text
    assert re.search(r"license='Apache-2.0'",
                     (REPO_ROOT / 'setup.py').read_text())


@pytest.mark.slow
def test_tree_is_clean_under_the_lint_configuration():
    ruff = shutil.which('ruff', path=str(REPO_ROOT / '.venv' / 'bin')) or \
        shutil.which('ruff')
    if ruff is None:
        pytest.skip('ruff is not installed (pip install -e .[tests])')
    proc = subprocess.run([ruff, 'check', '--no-cache', str(REPO_ROOT)],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_metafile_lists_every_tscae_config_and_the_index_imports_it():
    import yaml
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    assert index['Import'] == ['configs/tscae/metafile.yml']
    meta = yaml.safe_load(
        (REPO_ROOT / 'configs' / 'tscae' / 'metafile.yml').read_text())
    listed = {m['Config'] for m in meta['Models']}
    configs = {f'configs/tscae/{p.name}'
               for p in (REPO_ROOT / 'configs' / 'tscae').glob('*.py')}
    assert listed == configs
    assert all((REPO_ROOT / c).is_file() for c in listed)
    readme = (REPO_ROOT / 'configs' / 'tscae' / 'README.md').read_text()
    assert meta['Collections'][0]['README'] == 'configs/tscae/README.md'
    assert '@article{huang2026tscae' in readme
    # the results table is the report stage's, between its markers
    table = readme.split('<!-- results: written by tools/run_study.py, '
                         'do not edit -->')[1].split('<!-- end of results')[0]
    assert '| random init |' in table and '| MAE | clean |' in table


@pytest.mark.slow
def test_a_wheel_carries_the_configs_and_tools_and_no_start_up_hook(
        tmp_path):
    """``pip install .`` gets copies of the configs, tools and demo images
    under tscae_mm/.mim, and nothing outside the package folder: no .pth
    file, no top-level module."""
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    outside = {name.split('/')[0] for name in names
               if not name.startswith('tscae_mm/')}
    assert all(top.startswith('tscae_mm-') and top.endswith('.dist-info')
               for top in outside), outside
    assert not [name for name in names if name.endswith('.pth')]
    assert 'tscae_mm/utils/config_scope.py' in names
    assert 'tscae_mm/.mim/model-index.yml' in names
    assert 'tscae_mm/.mim/tools/train.py' in names
    # the demo config reads {{ fileDirname }}/../../demo/cifar10-mini
    assert any(name.startswith('tscae_mm/.mim/demo/cifar10-mini/')
               for name in names)
    configs = REPO_ROOT / 'configs'
    shipped = {
        name[len('tscae_mm/.mim/configs/'):]
        for name in names if name.startswith('tscae_mm/.mim/configs/')
        and name.endswith('.py')
    }
    assert shipped == {
        str(path.relative_to(configs)) for path in configs.rglob('*.py')}
    assert 'tscae_mm/.mim/configs/tscae/metafile.yml' in names
    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    # the wheel's tools run from its tscae_mm/.mim/tools (what `mim train
    # tscae_mm` calls) and import the wheel's package
    proc = subprocess.run(
        [sys.executable, str(site / 'tscae_mm' / '.mim' / 'tools' /
                             'train.py'), '--help'], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'config file path' in proc.stdout
    # the folder for path bases is the wheel's copy of the configs
    proc = subprocess.run(
        [sys.executable, '-m', 'tscae_mm.utils.config_scope'], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(site / 'tscae_mm' / '.mim' / 'configs')
