"""The main job end to end: tools/train.py on the demo config, then the
visualisation tool on the checkpoint it wrote."""
import json
import re

import pytest
from PIL import Image

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

# every test reads the run of tools/train.py that the module's fixture makes
pytestmark = pytest.mark.slow

SHORT_RUN = [
    'train_cfg.max_epochs=2',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.dataset.indices=16',
    'default_hooks.logger.interval=1',
]


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('demo')
    run_tool([
        'tools/train.py', DEMO_CONFIG, '--work-dir', work_dir,
        '--cfg-options', *SHORT_RUN
    ])
    return work_dir


def logged_losses(work_dir):
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in scalars.read_text().splitlines()]


def test_demo_trains_logs_its_losses_and_checkpoints(demo_run):
    records = [r for r in logged_losses(demo_run) if 'loss' in r]
    assert len(records) == 4  # 16 images / batch 8 x 2 epochs, logged each
    for record in records:
        # the efficient form: the three TSCAE losses and the variance /
        # covariance term on the teacher tokens
        parts = record['loss_pixel'] + record['loss_contrast'] + record[
            'loss_global'] + record['loss_token_reg']
        assert record['loss'] == pytest.approx(parts, rel=1e-4)
    assert (demo_run / 'epoch_2.pth').is_file()
    assert (demo_run / 'last_checkpoint').read_text().strip().endswith(
        'epoch_2.pth')


def test_demo_runs_the_collapse_monitor_on_what_it_has(demo_run):
    log = max(demo_run.glob('*/*.log')).read_text()
    assert 'num_images=64 but the training set has 16 images; the ' \
        'monitor uses all 16' in log
    assert 'Collapse monitor, iteration 0:' in log
    assert 'Collapse monitor, iteration 4:' in log  # the last iteration


def test_demo_logs_its_cpu_threads(demo_run):
    """tools/train.py + ReliableRunner: the thread choice is logged once;
    run_tool sets OMP_NUM_THREADS, which is kept."""
    log = max(demo_run.glob('*/*.log')).read_text()
    assert log.count('CPU threads: ') == 1
    line = log[log.index('CPU threads: '):].splitlines()[0]
    assert '(OMP_NUM_THREADS=' in line and ', as set; ' in line, line


@pytest.mark.parametrize('attention,columns', [(False, 4), (True, 7)])
def test_visualisation_writes_a_png(demo_run, tmp_path, attention, columns):
    out = tmp_path / 'vis.png'
    images = [
        REPO_ROOT / 'demo' / 'cifar10-mini' / 'cat' / '0000.jpg',
        REPO_ROOT / 'demo' / 'cifar10-mini' / 'ship' / '0001.jpg'
    ]
    run_tool([
        'tools/visualize_reconstruction.py', DEMO_CONFIG,
        demo_run / 'epoch_2.pth', *images, '--out', out
    ] + (['--attention'] if attention else []))
    with Image.open(out) as png:
        assert png.format == 'PNG'
        # 2 inches per panel at 100 dpi: one row per image, one column per
        # panel (original, teacher, student, reconstruction, + 3 heads and
        # their colour bar's 0.15 inch), + 0.6 inch of title, 0.8 of caption
        assert png.size == (200 * columns + 15 * attention,
                            200 * len(images) + 140)
        assert len(set(png.convert('L').getdata())) > 50  # not blank


def test_visualisation_rejects_unreadable_image(demo_run, tmp_path):
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not an image')
    with pytest.raises(pytest.fail.Exception, match='cannot read image'):
        run_tool([
            'tools/visualize_reconstruction.py', DEMO_CONFIG,
            demo_run / 'epoch_2.pth', bad, '--out', tmp_path / 'x.png'
        ])


def readme_main_command():
    """The README's main command after the set-up step, as a list of
    (tool, args) steps, with its work dir named ``WORK``."""
    readme = (REPO_ROOT / 'README.md').read_text()
    block = readme.split('```bash\n', 1)[1].split('\n```', 1)[0]
    assert block.startswith('bash scripts/setup_env.sh && '), block
    steps = []
    for part in block.split(' && ')[1:]:
        words = part.replace('work_dirs/demo', 'WORK').split()
        assert words[0] == '.venv/bin/python', part
        steps.append(words[1:])
    return steps


def test_the_readme_main_command_is_train_then_picture():
    (train, train_args), (draw, *_) = [(s[0], s[1:]) for s in
                                       readme_main_command()]
    assert train == 'tools/train.py'
    assert train_args == [str(DEMO_CONFIG.relative_to(REPO_ROOT)),
                          '--work-dir', 'WORK']
    assert draw == 'tools/visualize_reconstruction.py'


def test_the_demo_picture_shows_learning(tmp_path):
    """The README's main command as written, the full demo: the prediction
    at the hidden patches beats a mean-colour fill by at least 1.5 dB on
    the README's two images (about 3.5 dB measured; README)."""
    for step in readme_main_command():
        proc = run_tool([a.replace('WORK', str(tmp_path / 'demo'))
                         for a in step], timeout=1200)
    line = proc.stdout.strip().splitlines()[-1]  # the tool's closing line
    match = re.fullmatch(r'wrote \S+reconstruction\.png; masked-patch PSNR '
                         r'([\d.]+) dB \(mean-colour fill ([\d.]+) dB\)', line)
    assert match, proc.stdout[-2000:]
    psnr, fill = map(float, match.groups())
    assert psnr >= fill + 1.5, line
    assert (tmp_path / 'demo' / 'reconstruction.png').is_file()
