"""The study's evaluation (k-NN, linear probe, encoder loading), its data
preparation and its configs (tools/run_study.py, docs/results.md)."""
import ast
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmpretrain.registry import MODELS

import tscae_mm  # noqa: F401
from tscae_mm.evaluation import (
    build_encoder,
    encoder_spec,
    extract_features,
    knn_accuracy,
    linear_probe,
    load_image_list,
)

from conftest import REPO_ROOT, run_tool

STUDY = REPO_ROOT / 'projects' / 'tscae_study' / 'configs'
TSCAE_CONFIG = STUDY / 'tscae_vit-tiny-d6-p4_6e_cifar10-5k.py'
MAE_CONFIG = STUDY / 'mae_vit-tiny-d6-p4_6e_cifar10-5k.py'
FT_CONFIG = STUDY / 'vit-tiny-d6-p4_ft-3e_cifar10-5k.py'
PRETRAIN_CONFIGS = sorted(p for p in STUDY.glob('*.py')
                          if '_ft-' not in p.name)


def save_initialised_model(config, path):
    """Build the config's model (seed 0), initialise it, save its weights
    as a Runner checkpoint would; return the model."""
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, path)
    return model


def load_run_study():
    """The study's API (tools/run_study.py is its command line)."""
    from tscae_study import runner
    return runner


# ------------------------------------------------------------ k-NN / probe
def test_knn_votes_by_weighted_cosine_neighbours():
    bank = torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9],
                         [-1., 0.]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    queries = torch.tensor([[2., 0.1], [0.2, 3.], [-1., 0.05]])
    # k=1: each query's nearest neighbour by cosine
    assert knn_accuracy(bank, labels, queries, torch.tensor([0, 1, 2]),
                        k=1) == 100.
    assert knn_accuracy(bank, labels, queries, torch.tensor([1, 0, 2]),
                        k=1) == pytest.approx(100. / 3)
    # k=3 for the last query: neighbours -1 (label 2, sim ~1) and two
    # orthogonal-ish ones of label 1 / 0; the weighted vote keeps label 2
    assert knn_accuracy(bank, labels, queries[2:], torch.tensor([2]),
                        k=3) == 100.
    with pytest.raises(ValueError, match='k=9 exceeds'):
        knn_accuracy(bank, labels, queries, torch.tensor([0, 1, 2]), k=9)


def test_knn_and_probe_separate_clusters_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 16, generator=gen) * 3
    ytr = torch.arange(400) % 4
    yte = torch.arange(200) % 4
    xtr = centers[ytr] + torch.randn(400, 16, generator=gen)
    xte = centers[yte] + torch.randn(200, 16, generator=gen)
    assert knn_accuracy(xtr, ytr, xte, yte) > 95
    assert linear_probe(xtr, ytr, xte, yte) > 95
    noise_tr, noise_te = torch.randn(400, 16, generator=gen), torch.randn(
        200, 16, generator=gen)
    assert knn_accuracy(noise_tr, ytr, noise_te, yte) < 45
    assert linear_probe(noise_tr, ytr, noise_te, yte) < 45


def test_linear_probe_ignores_feature_scale():
    """Standardised features: a dimension of huge scale does not dominate."""
    gen = torch.Generator().manual_seed(1)
    ytr, yte = torch.arange(300) % 3, torch.arange(90) % 3
    xtr = torch.randn(300, 8, generator=gen)
    xte = torch.randn(90, 8, generator=gen)
    xtr[:, 0] += ytr * 3
    xte[:, 0] += yte * 3
    base = linear_probe(xtr, ytr, xte, yte)
    xtr[:, 1] *= 1e4
    xte[:, 1] *= 1e4
    assert base > 85
    assert linear_probe(xtr, ytr, xte, yte) == pytest.approx(base, abs=2)


# --------------------------------------------------------- encoder loading
@pytest.mark.parametrize('config', [TSCAE_CONFIG, MAE_CONFIG],
                         ids=['tscae', 'mae'])
def test_encoder_takes_the_pretrained_weights(config, tmp_path):
    ckpt = tmp_path / 'model.pth'
    model = save_initialised_model(config, ckpt)
    spec = encoder_spec(str(config))
    assert (spec.img_size, spec.patch_size) == (32, 4)
    encoder = build_encoder(spec, str(ckpt))
    for name, value in encoder.state_dict().items():
        if not name.startswith('ln2.'):
            assert torch.equal(value, model.backbone.state_dict()[name]), name
    torch.manual_seed(0)
    floor = build_encoder(spec)
    assert not torch.equal(floor.layers[0].attn.qkv.weight,
                           encoder.layers[0].attn.qkv.weight)
    out = encoder(torch.randn(2, 3, 32, 32))
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == (2, 192) and torch.isfinite(out).all()


def test_encoder_refuses_a_checkpoint_of_another_encoder(tmp_path):
    spec = encoder_spec(str(TSCAE_CONFIG))
    other = build_encoder(spec._replace(arch=dict(
        embed_dims=96, num_layers=6, num_heads=3, feedforward_channels=384)))
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': {
        f'backbone.{k}': v for k, v in other.state_dict().items()}}, ckpt)
    with pytest.raises(KeyError, match='does not fit the encoder.*(192,)'):
        build_encoder(spec, str(ckpt))
    empty = tmp_path / 'head_only.pth'
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(2, 2)}}, empty)
    with pytest.raises(KeyError, match='holds no ViT encoder weights'):
        build_encoder(spec, str(empty))


def test_image_list_errors_name_the_line(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a.jpg 0\nb.jpg\n')
    with pytest.raises(ValueError, match=r'list.txt:2: expected'):
        load_image_list(str(tmp_path), str(ann))
    ann.write_text('missing.jpg 0\n')
    paths, _ = load_image_list(str(tmp_path), str(ann))
    with pytest.raises(ValueError, match='missing.jpg: cannot be read'):
        extract_features(build_encoder(encoder_spec(str(TSCAE_CONFIG))),
                         encoder_spec(str(TSCAE_CONFIG)), paths)


# -------------------------------------------------------------- the study
def test_study_configs_differ_only_in_the_method():
    """Same data, crop, optimiser, schedule and seed for every method."""
    shared = ('optim_wrapper', 'param_scheduler', 'train_cfg', 'randomness',
              'auto_scale_lr')
    base = Config.fromfile(str(TSCAE_CONFIG))
    assert len(PRETRAIN_CONFIGS) == 9
    for path in PRETRAIN_CONFIGS:
        cfg = Config.fromfile(str(path))
        if 'equal-time' in path.name:  # a longer run of the same shape
            equal_time_schedule_has_the_same_shape(cfg, base)
            shared_here = ('optim_wrapper', 'randomness', 'auto_scale_lr')
        else:
            shared_here = shared
        for key in shared_here:
            assert cfg[key] == base[key], (path.name, key)
        loader, ref = cfg.train_dataloader, base.train_dataloader
        for key in ('batch_size', 'sampler'):
            assert loader[key] == ref[key]
        inner, ref_inner = loader.dataset.dataset, ref.dataset.dataset
        assert (inner.data_root, inner.ann_file) == (ref_inner.data_root,
                                                     ref_inner.ann_file)
        crops = [t for t in inner.pipeline if t['type'] in (
            'RandomResizedCrop', 'RandomFlip')]
        assert crops == [t for t in ref_inner.pipeline if t['type'] in (
            'RandomResizedCrop', 'RandomFlip')]
        arch = cfg.model.backbone.arch
        assert (arch, cfg.model.backbone.patch_size) == (
            base.model.backbone.arch, 4)


def base_chains(path):
    """Every chain of ``_base_`` files from config ``path`` up, as lists of
    paths (a toolbox's ``<scope>::`` base ends a chain)."""
    tree = ast.parse(path.read_text())
    bases = [ast.literal_eval(node.value) for node in tree.body
             if isinstance(node, ast.Assign)
             and getattr(node.targets[0], 'id', None) == '_base_']
    bases = bases[0] if bases else []
    bases = [bases] if isinstance(bases, str) else bases
    if not bases:
        return [[path]]
    chains = []
    for base in bases:
        if '::' in base:
            chains.append([path, base])
            continue
        for chain in base_chains((path.parent / base).resolve()):
            chains.append([path] + chain)
    return chains


def test_study_configs_have_their_own_shallow_bases():
    """The study inherits its own base (and the encoder parts of
    configs/_base_), never the demo, at most 3 levels deep: editing the demo
    leaves the study as it is."""
    demo = (REPO_ROOT / 'configs' / 'tscae').resolve()
    configs = sorted(STUDY.rglob('*.py'))
    assert len(configs) >= 23
    for path in configs:
        for chain in base_chains(path):
            assert len(chain) - 1 <= 3, chain
            for base in chain[1:]:
                assert not str(base).startswith(str(demo)), chain


def equal_time_schedule_has_the_same_shape(cfg, base):
    """Warm-up over the same fraction of the run, cosine to 0 at its end."""
    epochs, base_epochs = cfg.train_cfg.max_epochs, base.train_cfg.max_epochs
    assert epochs > base_epochs
    (warm, cos), (base_warm, base_cos) = (cfg.param_scheduler,
                                          base.param_scheduler)
    assert warm.end / epochs == pytest.approx(base_warm.end / base_epochs,
                                              abs=0.5 / epochs)
    assert (cos.begin, cos.end, cos.T_max) == (warm.end, epochs,
                                               epochs - warm.end)
    for key in ('type', 'start_factor', 'convert_to_iter_based'):
        assert warm[key] == base_warm[key]
    assert (cos.type, cos.eta_min) == (base_cos.type, base_cos.eta_min)


def test_every_study_run_resolves_to_what_it_says():
    """Each run of tools/run_study.py: its config exists, its epochs are the
    config's (screening: the first epochs of it), a degradation option hits
    the pipeline's ImageDegradation step, a seed reaches randomness.seed."""
    run_study = load_run_study()
    for name, run in run_study.RUNS.items():
        cfg = Config.fromfile(run_study.config_file(run.config))
        key = run_study.run_key(name, 2)
        assert run_study.parse_key(key) == (name, 2)
        options = run_study.pretrain_options(key)
        assert options[-1] == 'randomness.seed=2'
        # parsed as tools/train.py's --cfg-options parses them
        cfg.merge_from_dict({
            k: DictAction._parse_iterable(v)
            for k, v in (o.split('=', 1) for o in options)
        })
        assert cfg.randomness.seed == 2
        # the screening runs stop early (--cfg-options); the others train
        # their config's epochs: 6, 22 for the equal-time MAE
        assert cfg.train_cfg.max_epochs == run.epochs
        assert run.epochs == (22 if name == 'mae_equal_time' else
                              3 if run.screening else 6), name
        step = cfg.train_dataloader.dataset.dataset.pipeline[1]
        if run.images in run_study.DEGRADATIONS:
            kind, severity, _ = run_study.DEGRADATIONS[run.images]
            assert step == dict(type='ImageDegradation', kind=kind,
                                severity=severity), name
        elif run.images == 'clean':
            assert step['type'] != 'ImageDegradation', name
    assert run_study.run_key('mae', 0) == 'mae'
    assert run_study.finetune_options('random_init-seed3', 'w') == [
        'randomness.seed=3']
    # another data root reaches the trainings' datasets
    assert run_study.pretrain_options('tscae', '/data/c10') == [
        'train_dataloader.dataset.dataset.data_root=/data/c10']
    assert run_study.finetune_options('random_init', 'w', '/data/c10') == [
        'train_dataloader.dataset.dataset.data_root=/data/c10',
        'val_dataloader.dataset.data_root=/data/c10',
        'test_dataloader.dataset.data_root=/data/c10'
    ]
    assert run_study.pretrain_options('tscae', 'data/cifar10/') == []


@pytest.mark.slow
def test_prepare_writes_seeded_disjoint_balanced_lists(cifar10_root,
                                                      cifar_archive):
    run_study = load_run_study()
    run_study.prepare(str(cifar_archive), str(cifar10_root))
    meta = cifar10_root / 'meta'
    first = {p.name: p.read_text() for p in meta.glob('*.txt')}
    run_study.prepare(str(cifar_archive), str(cifar10_root))
    assert first == {p.name: p.read_text() for p in meta.glob('*.txt')}

    def lines(name):
        return first[f'{name}.txt'].split()

    pretrain = first['pretrain_5k.txt'].split()
    train = [ln.rsplit(' ', 1) for ln in
             first['train_5k.txt'].strip().split('\n')]
    assert [p for p, _ in train] == pretrain and len(pretrain) == 5000
    labels = np.array([int(lab) for _, lab in train])
    assert np.bincount(labels).tolist() == [500] * 10
    for path, label in train:
        assert path.split('/')[1] == run_study.CLASSES[int(label)]
        assert (cifar10_root / path).exists()
    test = first['test.txt'].strip().split('\n')
    assert len(test) == 10000 and all(t.startswith('test/') for t in test)
    assert set(first['test_1k.txt'].strip().split('\n')) <= set(test)
    assert set(first['train_2k.txt'].strip().split('\n')) <= set(
        first['train_5k.txt'].strip().split('\n'))
    assert len(lines('train_2k')) == 2 * 2000


def test_loss_history_merges_resumed_segments(tmp_path):
    run_study = load_run_study()
    for stamp, records in (('20260101_000000', [(10, 3.), (20, 2.)]),
                           ('20260101_010000', [(20, 1.5), (30, 1.)])):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text('\n'.join(
            json.dumps({'loss': v, 'loss_pixel': v / 2, 'lr': 1e-3,
                        'step': s}) for s, v in records))
    history = run_study.loss_history(str(tmp_path))
    assert history['loss'] == [[10, 3.], [20, 1.5], [30, 1.]]
    assert set(history) == {'loss', 'loss_pixel'}


@pytest.mark.slow
def test_evaluate_encoder_and_finetune_from_a_checkpoint(
        cifar10_root, tmp_path):
    """The command-line paths of the study on a few real images: frozen
    evaluation of a TSCAE checkpoint, its determinism, and a fine-tuning
    run that loads the same checkpoint."""
    ckpt = tmp_path / 'tscae.pth'
    save_initialised_model(TSCAE_CONFIG, ckpt)
    classes = sorted(p.name for p in (cifar10_root / 'train').iterdir())
    for split, per_class in (('train', 6), ('test', 3)):
        rows = [f'{split}/{c}/{name.name} {i}' for i, c in enumerate(classes)
                for name in sorted((cifar10_root / split / c).iterdir())
                [:per_class]]
        (tmp_path / f'{split}.txt').write_text('\n'.join(rows) + '\n')
    common = ['--data-root', cifar10_root, '--train-list',
              tmp_path / 'train.txt', '--test-list', tmp_path / 'test.txt',
              '--knn-k', '5']
    results = []
    for i in range(2):
        out = tmp_path / f'eval{i}.json'
        run_tool(['tools/evaluate_encoder.py', TSCAE_CONFIG, '--checkpoint',
                  ckpt, '--out', out] + common)
        results.append(json.loads(out.read_text()))
    assert results[0]['knn'] == results[1]['knn']
    assert results[0]['linear'] == results[1]['linear']
    assert (results[0]['num_train'], results[0]['num_test']) == (60, 30)
    assert 0 <= results[0]['knn']['top1'] <= 100

    work = tmp_path / 'ft'
    run_tool(['tools/train.py', FT_CONFIG, '--work-dir', work,
              '--cfg-options', 'train_cfg.max_epochs=1',
              'train_cfg.val_interval=1', f'data_root={cifar10_root}',
              f'train_dataloader.dataset.dataset.data_root={cifar10_root}',
              f'train_dataloader.dataset.dataset.ann_file={tmp_path}/train.txt',
              f'val_dataloader.dataset.data_root={cifar10_root}',
              f'val_dataloader.dataset.ann_file={tmp_path}/test.txt',
              'train_dataloader.batch_size=20',
              'model.backbone.init_cfg.type=Pretrained',
              f'model.backbone.init_cfg.checkpoint={ckpt}',
              'model.backbone.init_cfg.prefix=backbone.'])
    log = next(work.glob('*/*.log')).read_text()
    assert f'load backbone. in model from: {ckpt}' in log
    assert 'accuracy/top1' in log
    top1 = load_run_study().finetune_result(str(work))
    assert top1 is not None and 0 <= top1 <= 100


def test_collapse_statistics_tell_collapsed_from_diverse_features():
    from tscae_mm.evaluation import effective_rank, mean_offdiag_cos
    gen = torch.Generator().manual_seed(0)
    diverse = torch.randn(64, 32, generator=gen)
    collapsed = torch.ones(64, 32) + 1e-3 * torch.randn(64, 32, generator=gen)
    assert abs(mean_offdiag_cos(diverse)) < 0.05
    assert mean_offdiag_cos(collapsed) > 0.999
    # (N, T, D): averaged over the images
    tokens = torch.stack([diverse[:8], collapsed[:8]])
    assert mean_offdiag_cos(tokens) == pytest.approx(
        (mean_offdiag_cos(diverse[:8]) + mean_offdiag_cos(collapsed[:8])) / 2,
        abs=1e-5)
    one_direction = torch.randn(64, 1, generator=gen) * torch.randn(
        1, 32, generator=gen)
    assert effective_rank(one_direction) == pytest.approx(1., abs=0.01)
    assert effective_rank(diverse) > 20


def test_plain_and_pass_statistics_run_on_the_study_model():
    from mmengine.registry import init_default_scope

    from tscae_mm.datasets import ComplementaryMaskGenerator
    from tscae_mm.evaluation import pass_stats, plain_stats
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(str(TSCAE_CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    images = torch.randn(4, 3, 32, 32)
    np.random.seed(0)
    gen = ComplementaryMaskGenerator(input_size=32, patch_size=4,
                                     mask_ratio=0.75)
    mask = torch.from_numpy(np.stack([gen.transform({})['mask']
                                      for _ in range(4)]))
    plain = plain_stats(model.backbone, images)
    # the statistics' plain pass is the backbone's own plain forward
    from tscae_mm.evaluation.feature_stats import _plain_tokens
    with torch.no_grad():
        expected = model.backbone(images)[0]  # cls token after final norm
        torch.testing.assert_close(
            _plain_tokens(model.backbone, images)[:, 0], expected)
    assert set(plain) == {'between_images_cos', 'within_image_cos',
                          'effective_rank',
                          'same_position_between_images_cos'}
    assert 1 <= plain['effective_rank'] <= 4
    passes = pass_stats(model, images, mask)
    assert all(-1 <= v <= 1 for v in passes.values())


def test_prepare_names_what_is_missing(tmp_path):
    run_study = load_run_study()
    with pytest.raises(FileNotFoundError, match='pass --archive'):
        run_study.prepare(None, str(tmp_path / 'cifar10'))
    with pytest.raises(FileNotFoundError, match='pass --archive'):
        run_study.prepare(str(tmp_path / 'missing.tar.gz'),
                          str(tmp_path / 'cifar10'))
    root = tmp_path / 'small'
    for split in ('train', 'test'):
        for cls in run_study.CLASSES:
            (root / split / cls).mkdir(parents=True)
            (root / split / cls / '0000.jpg').write_bytes(b'')
    with pytest.raises(RuntimeError,
                       match='airplane has 1 training and 1 test images'):
        run_study.prepare(str(tmp_path / 'missing.tar.gz'), str(root))


def test_report_keeps_committed_figures_and_tables_the_screening(tmp_path):
    """A fresh machine has no work dirs: the report keeps what the committed
    study.json holds and adds the screening table."""
    run_study = load_run_study()
    out = tmp_path / 'results'
    out.mkdir()
    stats = dict(effective_rank=30., between_images_cos=0.8,
                 within_image_cos=0.7, student_within_image_cos=0.6,
                 student_global_between_images_cos=0.5)
    previous = dict(runs=dict(
        random_init=dict(label='random init', method='random_init',
                         images='-', knn_top1=28.9, linear_top1=40.8,
                         finetune_top1=30.4),
        tscae=dict(label='TSCAE (reference)', method='tscae',
                   images='clean', knn_top1=29.4, linear_top1=41.5,
                   finetune_top1=36.3, knn_curve={'0': 25.6, '6': 24.4},
                   losses={}, collapse_stats={'6': stats}),
        screen_ema=dict(label='momentum target encoder', method='tscae_ema',
                        images='clean', screening=True, pretrain_epochs=3,
                        knn_top1=31.25, linear_top1=44.5,
                        knn_curve={'3': 27.5}, losses={},
                        collapse_stats={'3': stats})))
    (out / 'study.json').write_text(json.dumps(previous))
    method_readme = REPO_ROOT / 'configs' / 'tscae' / 'README.md'
    before = method_readme.read_text()
    run_study.report(['tscae'], str(tmp_path / 'no_work_dirs'), str(out))
    # only the checkout that holds `out` is written to
    assert method_readme.read_text() == before
    study = json.loads((out / 'study.json').read_text())
    assert study['runs']['tscae']['knn_top1'] == 29.4
    assert study['runs']['screen_ema']['screening'] is True
    tables = (out / 'tables.md').read_text()
    assert '| TSCAE (reference) | clean | 0 | 29.40 | 41.50 | 36.30 |' \
        in tables
    # the seeded comparison holds what there is: one seed each
    assert [c['setting'] for c in study['comparison']] == ['random_init',
                                                           'tscae']
    assert '| TSCAE (reference) | clean | 6 | 0 | 29.40 (1 seed) |' in tables
    screening = tables.split('### Screening')[1]
    assert '| momentum target encoder | 31.25 | 44.50 | 27.5 | 30.000 |' \
        in screening
    assert 'momentum target encoder' not in tables.split('### Screening')[0]


def test_warm_start_continues_a_screening_run_without_touching_it(tmp_path):
    run_study = load_run_study()
    source = tmp_path / 'screen_one_sided'
    source.mkdir()
    for epoch in (1, 2, 3):
        (source / f'epoch_{epoch}.pth').write_bytes(b'weights')
    (source / 'last_checkpoint').write_text(str(source / 'epoch_3.pth'))
    (source / 'study_wallclock.json').write_text(
        '{"seconds": 60.0, "segments": [60.0]}')
    run_study.warm_start('tscae_recommended', str(tmp_path))
    target = tmp_path / 'tscae_recommended'
    assert (target / 'last_checkpoint').read_text() == str(
        target / 'epoch_3.pth')
    assert (target / 'epoch_3.pth').stat().st_ino == \
        (source / 'epoch_3.pth').stat().st_ino  # hard link, no copy
    run_study.add_wallclock(str(target / 'study_wallclock.json'), 30.)
    assert json.loads((target / 'study_wallclock.json').read_text())[
        'seconds'] == 90.
    # the screening run is as it was
    assert (source / 'last_checkpoint').read_text() == str(
        source / 'epoch_3.pth')
    assert json.loads(
        (source / 'study_wallclock.json').read_text())['seconds'] == 60.
