"""tscae_mm/visualization/reconstruction.py (tools/visualize_reconstruction.py
is its command line): images are loaded as training loads
them, and an unusable --out is refused (a missing folder created) before
any computation."""
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

import tscae_mm  # noqa: F401
from tscae_mm.datasets import LoadImageFromFileSafe

from conftest import DEMO_CONFIG, REPO_ROOT

TOOL = REPO_ROOT / 'tools' / 'visualize_reconstruction.py'


@pytest.fixture(scope='module')
def tool():
    from tscae_mm.visualization import reconstruction
    return reconstruction


def write_16bit_png(path, value=20000, size=(24, 20)):
    """A 16-bit grayscale PNG (mode I;16) with a gradient around ``value``."""
    ramp = np.linspace(value - 5000, value + 5000, size[0] * size[1])
    Image.fromarray(ramp.reshape(size[1], size[0]).astype(np.uint16)).save(
        path)
    return path


def test_16_bit_png_is_loaded_as_training_loads_it(tool, tmp_path):
    path = write_16bit_png(tmp_path / 'depth.png')
    assert Image.open(path).mode.startswith('I;16')
    loaded = tool.load_image(str(path), (32, 32))
    assert loaded.shape == (3, 32, 32) and loaded.dtype == torch.uint8
    training = LoadImageFromFileSafe()(dict(img_path=str(path)))['img']
    expected = mmcv.imresize(training, (32, 32), interpolation='bicubic',
                             backend='pillow')
    np.testing.assert_array_equal(loaded.permute(1, 2, 0).numpy(), expected)
    # 20000 / 65535 of full scale: about 78 of 255, not PIL's clipped 255
    assert 70 < loaded.float().mean() < 86
    clipped = np.asarray(Image.open(path).convert('RGB'))
    assert clipped.mean() > 250


def test_unreadable_image_names_the_file(tool, tmp_path):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(b'not an image')
    with pytest.raises(SystemExit, match=f'cannot read image {path}: not an '
                       'image: no known image format'):
        tool.load_image(str(path), (32, 32))


def test_out_folder_is_created(tool, tmp_path):
    out = tmp_path / 'a' / 'b' / 'vis.png'
    tool.prepare_out(str(out))
    assert out.parent.is_dir() and not out.exists()


@pytest.mark.parametrize('name,message', [
    ('vis.xyz', 'give a file name ending in one of'),
    ('folder', 'is a folder; give a file name in it'),
    ('file.txt/vis.png', 'file.txt is a file, not a folder'),
    ('file.txt/deeper/vis.png', 'file.txt is a file, not a folder'),
])
def test_unusable_out_is_refused(tool, tmp_path, name, message):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'file.txt').write_text('a file, not a folder')
    if name == 'folder':
        (tmp_path / 'folder.png').mkdir()
        name = 'folder.png'
    with pytest.raises(SystemExit, match=message):
        tool.prepare_out(str(tmp_path / name))


@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    """The demo model, freshly initialised, as a Runner would save it."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(DEMO_CONFIG)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
    path = tmp_path_factory.mktemp('vis') / 'epoch_3.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=3)), path)
    return path


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_draws_into_a_new_folder_from_a_16_bit_png(demo_checkpoint,
                                                   tmp_path):
    image = write_16bit_png(tmp_path / 'depth.png')
    out = tmp_path / 'new' / 'folder' / 'vis.png'
    proc = run_tool(DEMO_CONFIG, demo_checkpoint, image, '--out', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Image.open(out) as png:
        assert png.format == 'PNG'


@pytest.mark.slow
def test_unusable_out_fails_before_the_model_is_loaded(tmp_path):
    """The checkpoint does not even exist: the --out error comes first."""
    (tmp_path / 'file.txt').write_text('a file')
    proc = run_tool(DEMO_CONFIG, tmp_path / 'missing.pth',
                    REPO_ROOT / 'demo' / 'cifar10-mini' / 'cat' / '0000.jpg',
                    '--out', tmp_path / 'file.txt' / 'vis.png')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'--out {tmp_path / "file.txt" / "vis.png"}: '
        f'{tmp_path / "file.txt"} is a file, not a folder.')


def test_masked_psnr_and_the_mean_colour_baseline(tool):
    rng = np.random.default_rng(0)
    original = rng.random((8, 8, 3))
    hidden = np.zeros((8, 8, 1), dtype=bool)
    hidden[:4] = True
    # a prediction off by 0.1 everywhere it matters: 20 dB exactly
    assert tool.masked_psnr(original + 0.1, original, hidden) == \
        pytest.approx(20.)
    # what is visible does not count
    off_outside = np.where(hidden, original, 0.)
    assert tool.masked_psnr(off_outside, original, hidden) == 100.
    fill = tool.mean_colour_fill(original, hidden)
    np.testing.assert_allclose(fill[:4], np.broadcast_to(
        original[4:].reshape(-1, 3).mean(0), (4, 8, 3)))
    np.testing.assert_array_equal(fill[4:], original[4:])


@pytest.mark.slow
def test_picture_reports_the_psnr_against_the_mean_fill(demo_checkpoint,
                                                        tmp_path):
    out = tmp_path / 'vis.png'
    proc = run_tool(DEMO_CONFIG, demo_checkpoint,
                    REPO_ROOT / 'demo' / 'cifar10-mini' / 'cat' / '0000.jpg',
                    '--out', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'masked-patch PSNR' in proc.stdout
    assert '(mean-colour fill' in proc.stdout


def test_caption_says_what_the_views_are(tool):
    plain = tool.caption(25, siblings=False, heads=0)
    assert plain.startswith('Teacher view: the 25 % of the patches (V)')
    assert 'Student view: the complementary patches M' in plain
    assert 'sibling' not in plain and 'cls attention' not in plain
    sibling = tool.caption(25, siblings=True, heads=3)
    assert 'split into sibling views of the same image' in sibling
    assert 'Student view' not in sibling
    assert sibling.splitlines()[-1].startswith('cls attention:')
    assert 'the bar gives the weight' in sibling
