"""A config that names tscae_mm's types without loading tscae_mm: our entry
points say what to add instead of MMEngine's generic registry KeyError."""
import logging

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import tscae_mm  # noqa: F401
from tscae_mm.utils import plugin_imports

from conftest import REPO_ROOT

CUSTOM_IMPORTS = ("custom_imports = dict(imports=['tscae_mm'], "
                  'allow_failed_imports=False)')
CLASSIFIER = """_base_ = 'mmpretrain::_base_/default_runtime.py'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='TSCAEViT', arch='deit-tiny', img_size=32,
                  patch_size=8),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=2, in_channels=192))
"""


def write_config(tmp_path, text, name='my_config.py'):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_registrations_cover_all_three_toolboxes():
    # tscae_mm registers in a toolbox's registry once that is imported (it
    # does not import mmdet / mmseg itself); this test alone must not rely
    # on an earlier test having imported them
    import mmdet.registry  # noqa: F401
    import mmseg.registry  # noqa: F401
    found = plugin_imports.plugin_registrations()
    assert 'mmpretrain::model' in found['TSCAE']
    assert {'mmpretrain::model', 'mmdet::model',
            'mmseg::model'} <= set(found['TSCAEViT'])
    assert found['SeededDataset'] == ['mmpretrain::dataset']
    assert 'ImageClassifier' not in found


def test_warns_when_the_config_does_not_import_the_plugin(tmp_path,
                                                          monkeypatch):
    path = write_config(tmp_path, CLASSIFIER)
    cfg = Config.fromfile(path)
    assert plugin_imports.plugin_types_in(cfg) == [('model.backbone.type',
                                                    'TSCAEViT')]
    logged = []
    monkeypatch.setattr(plugin_imports, 'print_log',
                        lambda msg, **kwargs: logged.append(
                            (kwargs['level'], msg)))
    plugin_imports.warn_if_plugin_not_imported(cfg, str(path))
    assert logged == [(logging.WARNING, (
        f'{path} names tscae_mm types (TSCAEViT (model.backbone.type)) but '
        'has no custom_imports that imports tscae_mm. It runs here, because '
        "this script imports tscae_mm, but MMPretrain's, MMDetection's and "
        "MMSegmentation's own tools/train.py and tools/test.py stop with a "
        f'registry KeyError. Add to the config: {CUSTOM_IMPORTS}'))]
    logged.clear()
    cfg = Config.fromfile(write_config(tmp_path, CLASSIFIER + CUSTOM_IMPORTS,
                                       'with_imports.py'))
    plugin_imports.warn_if_plugin_not_imported(cfg, 'with_imports.py')
    assert logged == []


def test_type_of_another_toolbox_scope_names_the_scoped_type():
    from mmengine.registry import DATASETS
    cfg = Config(dict(default_scope='mmdet', custom_imports=dict(
        imports=['tscae_mm'])))
    with pytest.raises(KeyError) as error:
        with DefaultScope.overwrite_default_scope('mmdet'):
            with plugin_imports.explain_unregistered_types(cfg):
                DATASETS.build(dict(type='SeededDataset', dataset=dict()))
    assert error.value.args[0] == (
        'SeededDataset is not in the mmdet::dataset registry, but tscae_mm '
        "registers it in mmpretrain::dataset: the config's default_scope is "
        "'mmdet': use the type under a scope that has it (mmpretrain), or "
        "name it with its scope, type='mmpretrain.SeededDataset'.")


def test_other_key_errors_pass_unchanged():
    with pytest.raises(KeyError) as error:
        with plugin_imports.explain_unregistered_types(Config()):
            raise KeyError('img_path')
    assert error.value.args == ('img_path', )


@pytest.mark.slow
def test_train_from_a_client_directory_names_the_missing_lines(tmp_path):
    """A config written from scratch, without a toolbox runtime (no
    default_scope) and without custom_imports, through tools/train.py."""
    import subprocess
    import sys
    client = tmp_path / 'client'
    client.mkdir()
    write_config(client, (
        "model = dict(type='TSCAE')\n"
        "train_dataloader = dict(batch_size=2, sampler=dict(type="
        "'SeededSampler'), dataset=dict(type='SeededDataset', "
        "dataset=dict(type='CustomDataset', data_root='data')))\n"
        'train_cfg = dict(max_epochs=1)\n'
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"),
        'scratch.py')
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), 'scratch.py',
         '--work-dir', 'work_dirs/scratch'],
        cwd=client, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert ('scratch.py names tscae_mm types (TSCAE (model.type), '
            'SeededDataset (train_dataloader.dataset.type), SeededSampler '
            '(train_dataloader.sampler.type)) but has no custom_imports'
            ) in proc.stdout
    assert ('KeyError: "TSCAE is not in the mmengine::model registry, but '
            'tscae_mm registers it in mmpretrain::model: the config has no '
            "default_scope, so the build looked in MMEngine's root registry:"
            " inherit a toolbox's runtime (e.g. _base_ = "
            "'mmpretrain::_base_/default_runtime.py') or set "
            f"default_scope='mmpretrain'; add {CUSTOM_IMPORTS}.\""
            ) in proc.stderr
