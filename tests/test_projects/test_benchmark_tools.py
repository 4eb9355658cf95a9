"""tools/benchmark_pretrain.py (tscae_study.speed.pretrain) and
tools/benchmark_data.py (tscae_study.speed.data), tiny settings."""
import json
import shutil

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from conftest import REPO_ROOT, run_tool

TINY_RUN = [
    '--arch', 'custom', '--embed-dims', '64', '--num-layers', '2',
    '--num-heads', '2', '--img-size', '32', '--patch-size', '8', '--batch',
    '2', '--iters', '2', '--warmup', '1', '--tscae-decoder-layers', '1',
    '--threads', '1'
]
MODELS = ('tscae_reference', 'tscae_token_drop', 'mae')


def data_tool():
    """The data benchmark's module (tools/benchmark_data.py is its command
    line)."""
    from tscae_study.speed import data
    return data


@pytest.fixture(scope='module')
def pretrain_tool():
    """The benchmark's module (tools/benchmark_pretrain.py is its command
    line)."""
    from tscae_study.speed import pretrain
    return pretrain


@pytest.fixture(scope='module')
def pretrain_report(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'pretrain.json'
    proc = run_tool(['tools/benchmark_pretrain.py', *TINY_RUN, '--out', out])
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.slow
def test_pretrain_report_has_every_figure_and_consistent_ratios(
        pretrain_report):
    report, stdout = pretrain_report
    assert set(report['models']) == set(MODELS)
    for name, m in report['models'].items():
        times = m['step_time_s']['all']
        assert len(times) == 2 and min(times) > 0, name
        assert m['images_per_s'] == pytest.approx(
            2 / m['step_time_s']['median'])
        assert m['achieved_flops_per_s'] == pytest.approx(
            m['flops_per_step'] / m['step_time_s']['median'])
        parts = m['flops_by_part']
        assert parts['encoder'] > 0 and parts['decoder'] > 0
        assert sum(parts.values()) == m['flops_per_step']
        # weights, gradients and two AdamW moments (fp32) are all resident
        assert m['peak_memory_bytes'] >= 16 * m['trainable_params'], name
    models, ratios = report['models'], report['ratios']
    drop_vs_ref = ratios['tscae_token_drop/tscae_reference']
    assert drop_vs_ref['images_per_s'] == pytest.approx(
        models['tscae_token_drop']['images_per_s'] /
        models['tscae_reference']['images_per_s'])
    assert report['machine']['torch'] == torch.__version__
    assert report['machine']['cpu_model']
    assert 'mae' in report['compared'].lower()
    assert 'tscae_token_drop/mae' in stdout and 'target' in stdout


@pytest.mark.slow
def test_pretrain_flops_follow_the_token_counts(pretrain_report):
    """Same weights, fewer tokens: token-drop's encoder runs 1 + |V| and
    1 + |M| tokens where the reference runs 2 x (1 + L), so it costs about
    half; MAE's encoder runs only 1 + |V| tokens once."""
    report, _ = pretrain_report
    encoder = {
        name: m['flops_by_part']['encoder']
        for name, m in report['models'].items()
    }
    decoder = {
        name: m['flops_by_part']['decoder']
        for name, m in report['models'].items()
    }
    assert decoder['tscae_token_drop'] == decoder['tscae_reference']
    assert 0.4 < encoder['tscae_token_drop'] / encoder[
        'tscae_reference'] < 0.6
    assert encoder['mae'] < encoder['tscae_token_drop'] / 2
    assert report['models']['tscae_reference']['saved_activation_bytes'] > \
        report['models']['tscae_token_drop']['saved_activation_bytes']


def test_cpu_fused_attention_flops_are_counted(pretrain_tool):
    """2 matmuls forward, 5 backward (scores recomputed), 2 b h s^2 d each."""
    b, h, s, d = 2, 3, 10, 8
    q = torch.randn(b, h, s, d, requires_grad=True)
    with FlopCounterMode(display=False,
                         custom_mapping=pretrain_tool.
                         cpu_flash_attention_flops()) as counter:
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    assert counter.get_total_flops() == 7 * 2 * b * h * s * s * d


@pytest.mark.parametrize('argv, message', [
    (['--arch', 'custom'], '--embed-dims'),
    (['--arch', 'tiny', '--num-heads', '3'], 'only apply to --arch custom'),
    (['--amp-dtype', 'fp16', '--device', 'cpu'], '--amp-dtype bf16'),
    (['--img-size', '100'], 'not a multiple of --patch-size'),
])
def test_pretrain_rejects_bad_options(pretrain_tool, capsys, argv, message):
    with pytest.raises(SystemExit):
        pretrain_tool.parse_args(argv)
    assert message in capsys.readouterr().err


def test_quick_mode_settings(pretrain_tool):
    args = pretrain_tool.parse_args(['--quick', '--batch', '64'])
    assert args.batch == pretrain_tool.QUICK_SETTINGS['batch']
    assert args.arch == 'tiny' and args.iters <= 3


def test_data_benchmark_reports_the_mask_transform_share(tmp_path, capsys):
    images = tmp_path / 'images' / 'cls'
    images.mkdir(parents=True)
    demo_images = sorted((REPO_ROOT / 'demo' / 'cifar10-mini').rglob('*.jpg'))
    for src in demo_images[:12]:
        shutil.copy(src, images / f'{src.parent.name}_{src.name}')
    out = tmp_path / 'data.json'
    report = data_tool().main([
        '--data-root', str(tmp_path / 'images'), '--rounds', '1',
        '--transform-calls', '200', '--out', str(out)
    ])
    assert json.loads(out.read_text()) == report
    assert report['num_images'] == 12
    with_mask = report['images_per_s']['with_mask']
    assert with_mask > 0 and report['images_per_s']['without_mask'] > 0
    assert report['mask_transform_share'] == pytest.approx(
        report['mask_transform_s_per_call'] * with_mask)
    assert report['target']['met'] == (report['mask_transform_share'] < 0.01)
    assert 'mask transform share' in capsys.readouterr().out


def test_data_benchmark_names_an_empty_folder(tmp_path):
    tool = data_tool()
    with pytest.raises(FileNotFoundError, match='no .* files under'):
        tool.main(['--data-root', str(tmp_path), '--rounds', '1'])
