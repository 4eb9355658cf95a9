"""Every config resolves to what it resolved to when this record was made:
rewriting the configs (inheritance instead of repetition, renames) must not
change a single value that they set. The record keeps only what our configs
set (``own_settings``: what differs from the toolboxes' bases they inherit),
so a toolbox release that changes one of its own defaults does not break it.
After an intended change of a config, re-record with

    python tests/test_configs/test_resolved_configs.py --record

and say why in the commit."""
import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from tscae_mm.utils.config_scope import own_settings, toolbox_bases

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORD = REPO_ROOT / 'tests' / 'data' / 'resolved_configs.json'
CONFIG_ROOTS = (REPO_ROOT / 'configs',
                REPO_ROOT / 'projects' / 'tscae_study' / 'configs')
CONFIGS = sorted(p for root in CONFIG_ROOTS for p in root.rglob('*.py')
                 if '_base_' not in p.parts)
# variables that base files define only for `{{_base_.<name>}}` in their
# children; no runner or toolbox reads them
HELPER_VARIABLES = ('vit_tiny_d6_arch', 'cifar10_selfsup_preprocessor')


def resolved(path: Path) -> dict:
    """What the config sets, machine paths made relative."""
    cfg = own_settings(Config.fromfile(str(path)).to_dict(),
                       toolbox_bases(str(path)))
    text = json.dumps(cfg, sort_keys=True, default=repr)
    # configs that name files next to themselves ({{ fileDirname }})
    text = text.replace(str(REPO_ROOT), '<repo>')
    cfg = json.loads(text)
    for name in HELPER_VARIABLES:
        cfg.pop(name, None)
    return cfg


def record() -> None:
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(json.dumps(
        {str(p.relative_to(REPO_ROOT)): resolved(p) for p in CONFIGS},
        indent=1, sort_keys=True) + '\n')
    print(f'recorded {len(CONFIGS)} configs in {RECORD}')


@pytest.fixture(scope='module')
def recorded():
    return json.loads(RECORD.read_text())


def test_every_config_is_recorded(recorded):
    assert sorted(recorded) == [str(p.relative_to(REPO_ROOT))
                                for p in CONFIGS], (
        'a config was added or removed: re-record (see the module docstring)')


@pytest.mark.parametrize('path', CONFIGS,
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_config_resolves_as_recorded(path, recorded):
    key = str(path.relative_to(REPO_ROOT))
    if key not in recorded:
        pytest.fail(f'{key} is not recorded: re-record (see the docstring)')
    assert resolved(path) == recorded[key]


def test_the_record_leaves_the_toolboxes_defaults_out(recorded):
    """mmpretrain's runtime (logging, environment, visualiser) is the
    toolbox's: recorded only where our runtime changes it."""
    demo = recorded['configs/tscae/tscae_vit-tiny-p4_demo.py']
    assert 'env_cfg' not in demo and 'vis_backends' not in demo
    assert demo['default_hooks']['logger'] == dict(interval=20)
    assert demo['model']['type'] == 'TSCAE'


if __name__ == '__main__':
    if sys.argv[1:] != ['--record']:
        sys.exit(__doc__)
    record()
