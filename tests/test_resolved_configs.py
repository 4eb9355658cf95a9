"""Every config resolves to what it resolved to when this record was made:
rewriting the configs (inheritance instead of repetition) must not change a
single value. After an intended change of a config, re-record with

    python tests/test_resolved_configs.py --record

and say why in the commit."""
import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORD = REPO_ROOT / 'tests' / 'data' / 'resolved_configs.json'
CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)
# variables that base files define only for `{{_base_.<name>}}` in their
# children; no runner or toolbox reads them
HELPER_VARIABLES = ('tscae_recommended', 'vit_tiny_d6_arch',
                    'cifar10_selfsup_preprocessor')


def resolved(path: Path) -> dict:
    """The config as the runner sees it, machine paths made relative."""
    cfg = Config.fromfile(str(path)).to_dict()
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
    expected = {k: v for k, v in recorded[key].items()
                if k not in HELPER_VARIABLES}
    assert resolved(path) == expected


if __name__ == '__main__':
    if sys.argv[1:] != ['--record']:
        sys.exit(__doc__)
    record()
