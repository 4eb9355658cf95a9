"""tools/extract_backbone.py: a backbone-only checkpoint from a TSCAE one."""
import importlib.util

import pytest
import torch
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

TOOL = REPO_ROOT / 'tools' / 'extract_backbone.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('extract_backbone', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tscae_checkpoint(tmp_path_factory):
    """A checkpoint of the demo's TSCAE model in the two-pass form (whose
    encoder holds the mask / visible placeholder tokens), saved as the
    Runner does."""
    from mmpretrain.registry import MODELS

    import tscae_mm  # noqa: F401
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.backbone.token_drop = False
    cfg.student_targets = 'student_pass'
    model = MODELS.build(cfg)
    path = tmp_path_factory.mktemp('ckpt') / 'tscae.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return path, model.state_dict()


@pytest.mark.slow
def test_writes_encoder_without_prefix_and_placeholders(tscae_checkpoint,
                                                        tmp_path):
    source, state_dict = tscae_checkpoint
    out = tmp_path / 'backbone.pth'
    proc = run_tool([TOOL, source, out])
    assert 'dropped' in proc.stdout
    written = torch.load(out, map_location='cpu', weights_only=True)
    expected = {
        key[len('backbone.'):]: value
        for key, value in state_dict.items() if key.startswith('backbone.')
        and not key.endswith(('mask_token', 'visible_token'))
    }
    assert set(written['state_dict']) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(written['state_dict'][key], value)
    assert written['meta']['dropped_keys'] == ['mask_token', 'visible_token']


def test_output_loads_into_a_downstream_backbone(tscae_checkpoint, tmp_path):
    from mmpretrain.registry import MODELS
    source, state_dict = tscae_checkpoint
    out = tmp_path / 'backbone.pth'
    load_tool().main([str(source), str(out)])
    backbone_cfg = dict(Config.fromfile(DEMO_CONFIG).model.backbone)
    backbone_cfg.update(
        masked_pretraining=False,
        token_drop=False,
        init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    torch.testing.assert_close(backbone.layers[0].attn.qkv.weight,
                               state_dict['backbone.layers.0.attn.qkv.weight'])
    torch.testing.assert_close(backbone.pos_embed,
                               state_dict['backbone.pos_embed'])


def test_names_the_prefixes_when_there_is_no_backbone(tscae_checkpoint,
                                                      tmp_path):
    source, _ = tscae_checkpoint
    tool = load_tool()
    with pytest.raises(SystemExit) as error:
        tool.main([str(source), str(tmp_path / 'out.pth'), '--prefix',
                   'encoder'])
    message = str(error.value)
    assert "no weights under the prefix 'encoder.'" in message
    assert "'backbone', 'contrast_head'" in message
    assert not (tmp_path / 'out.pth').exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SystemExit) as error:
        load_tool().main([str(tmp_path / 'nope.pth'), str(tmp_path / 'o')])
    assert 'nope.pth does not exist' in str(error.value)
