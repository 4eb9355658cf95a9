"""Our benchmark configs refuse a wrong ``load_from`` (here the TSCAE
pre-training checkpoint, whose encoder belongs in ``init_cfg``) as they
refuse a wrong ``init_cfg`` checkpoint: from a client directory, with each
toolbox's own tools/train.py, through the configs' ``ReliableRunner``."""
import os
import subprocess
import sys

import pytest
from test_configs.test_downstream_configs import (  # noqa: F401 (fixtures)
    CLIENT_BASES,
    SHIPPED_TRAIN,
    tscae_checkpoint,
    workspace,
    write_client_config,
)

from tscae_mm.utils import config_scope

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmdet', 'mmseg'])
def test_wrong_load_from_is_refused_by_the_toolbox_own_script(
        toolbox, workspace, tscae_checkpoint, monkeypatch):  # noqa: F811
    checkpoint = tscae_checkpoint[0]
    env = {config_scope.CONFIGS_ENV: config_scope.configs_dir()}
    monkeypatch.setenv(config_scope.CONFIGS_ENV, config_scope.configs_dir())
    base = CLIENT_BASES.get(toolbox, config_scope.configs_dir())
    mine = write_client_config(toolbox, workspace, checkpoint, base)
    config = mine.parent / f'my_{toolbox}_load_from.py'
    config.write_text(f"_base_ = './{mine.name}'\n"
                      f'load_from = {str(checkpoint)!r}\n')
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **env)
    full_env.pop('PYTHONPATH', None)  # tscae_mm as installed
    work_dir = workspace / 'work_dirs' / f'wrong_load_from_{toolbox}'
    proc = subprocess.run(
        [sys.executable, SHIPPED_TRAIN[toolbox], str(config), '--work-dir',
         str(work_dir)], cwd=workspace, env=full_env, capture_output=True,
        text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout[-3000:]
    error = proc.stderr[proc.stderr.rfind('CheckpointMismatchError'):]
    assert error.startswith(
        f'CheckpointMismatchError: Refusing checkpoint {checkpoint}: its '
        "weights do not fit this config's model"), proc.stderr[-3000:]
    assert " of the model's " in error and ' weights match.' in error
    assert 'key(s) missing from the checkpoint' in error
    assert ("use model.backbone.init_cfg=dict(type='Pretrained', "
            "checkpoint=..., prefix='backbone.') instead") in error
    assert not list(work_dir.glob('*.pth'))  # refused before training
