"""Benchmark the pre-training data pipeline with and without mask transform
(``tools/benchmark_data.py`` is its command line).

Measures, on real JPEG files, the images/s of the pre-training pipeline

    LoadImageFromFile -> RandomResizedCrop -> RandomFlip -> PackInputs

with and without TSCAE's ``ComplementaryMaskGenerator`` (before a
``PackInputs`` that also packs the mask), and the transform's own cost per
call. The two pipelines run interleaved, image by image, over the same files
so that a change of machine load hits both alike; the mask transform's share
of the pipeline is its own cost per call divided by the time per image of the
pipeline that contains it. Single process, like one data-loader worker.

Examples::

    python tools/benchmark_data.py                     # demo/cifar10-mini
    python tools/benchmark_data.py --archive ../shared/data/cifar10-jpg.tar.gz
    python tools/benchmark_data.py --data-root data/coco/train2017 \
        --num-images 500
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
from mmcv.transforms import Compose
from mmpretrain.registry import TRANSFORMS

from tscae_mm.datasets import ComplementaryMaskGenerator

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png')
# the demo images of the repository (relative to the current directory)
DEFAULT_DATA_ROOT = Path('demo', 'cifar10-mini')
MAX_SHARE = 0.01  # the mask transform must cost < 1 % of the pipeline
WARMUP_IMAGES = 10


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Images/s of the pre-training pipeline with and without '
        'the complementary-mask transform, and the transform\'s own cost.')
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--data-root', type=Path,
        help=f'folder searched recursively for JPEG / PNG files (default: '
        f'{DEFAULT_DATA_ROOT})')
    source.add_argument(
        '--archive', type=Path,
        help='a .tar.gz of images (e.g. ../shared/data/cifar10-jpg.tar.gz), '
        'extracted to a temporary folder for the run')
    parser.add_argument(
        '--num-images', type=int, default=1000,
        help='images per pipeline and round (default 1000)')
    parser.add_argument(
        '--rounds', type=int, default=3,
        help='passes over the images; the median round is reported')
    parser.add_argument('--img-size', type=int, default=224,
                        help='crop size (default 224)')
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--mask-ratio', type=float, default=0.75)
    parser.add_argument(
        '--transform-calls', type=int, default=20000,
        help='calls used to time the mask transform alone')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out', type=Path,
        help='JSON file to write (default: work_dirs/benchmark_data/'
        '<settings>.json)')
    args = parser.parse_args(argv)
    for name in ('num_images', 'rounds', 'transform_calls'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1.')
    return args


def find_images(root: Path, limit: int) -> List[Path]:
    """Up to ``limit`` image files under ``root``, in a fixed order."""
    if not root.is_dir():
        raise FileNotFoundError(
            f'benchmark_data: {root} is not a folder; pass --data-root with '
            'a folder of JPEG files or --archive with a .tar.gz of them.')
    files = sorted(
        path for path in root.rglob('*')
        if path.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f'benchmark_data: no {"/".join(IMAGE_SUFFIXES)} files under '
            f'{root}.')
    return files[:limit]


def extract_archive(archive: Path, into: Path) -> Path:
    if not archive.is_file():
        raise FileNotFoundError(f'benchmark_data: archive {archive} not '
                                'found.')
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter='data')
    return into


def build_pipelines(args: argparse.Namespace) -> Dict[str, Compose]:
    """The pre-training pipeline of the configs, without and with masks."""
    load_and_augment = [
        dict(type='LoadImageFromFile'),
        dict(
            type='RandomResizedCrop',
            scale=args.img_size,
            crop_ratio_range=(0.2, 1.0),
            backend='pillow',
            interpolation='bicubic'),
        dict(type='RandomFlip', prob=0.5),
    ]
    mask = dict(
        type='ComplementaryMaskGenerator',
        input_size=args.img_size,
        patch_size=args.patch_size,
        mask_ratio=args.mask_ratio)
    steps = {
        'without_mask': [*load_and_augment, dict(type='PackInputs')],
        'with_mask': [
            *load_and_augment, mask,
            dict(type='PackInputs', algorithm_keys=['mask'])
        ],
    }
    return {
        name: Compose([TRANSFORMS.build(cfg) for cfg in cfgs])
        for name, cfgs in steps.items()
    }


def time_pipelines(pipelines: Dict[str, Compose], files: List[Path],
                   rounds: int) -> Dict[str, List[float]]:
    """Seconds per image of each pipeline, one figure per round.

    Within a round the pipelines alternate image by image.
    """
    for path in files[:WARMUP_IMAGES]:  # first-call set-up is not timed
        for pipeline in pipelines.values():
            pipeline(dict(img_path=str(path)))
    per_round = {name: [] for name in pipelines}
    for round_index in range(rounds):
        totals = dict.fromkeys(pipelines, 0.)
        for path in files:
            for name, pipeline in pipelines.items():
                start = time.perf_counter()
                pipeline(dict(img_path=str(path)))
                totals[name] += time.perf_counter() - start
        for name in pipelines:
            per_round[name].append(totals[name] / len(files))
        print(f'[round {round_index + 1}/{rounds}] ' + ', '.join(
            f'{name} {1 / per_round[name][-1]:.0f} img/s'
            for name in pipelines), file=sys.stderr, flush=True)
    return per_round


def time_mask_transform(args: argparse.Namespace) -> float:
    """Seconds per call of ComplementaryMaskGenerator.transform."""
    generator = ComplementaryMaskGenerator(
        input_size=args.img_size, patch_size=args.patch_size,
        mask_ratio=args.mask_ratio)
    results = {}
    for _ in range(100):  # warm-up
        generator.transform(results)
    repeats = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(args.transform_calls):
            generator.transform(results)
        repeats.append((time.perf_counter() - start) / args.transform_calls)
    return min(repeats)


def default_out(args: argparse.Namespace, source: str) -> Path:
    tag = f'{source}_{args.img_size}px_p{args.patch_size}'
    return Path('work_dirs', 'benchmark_data', f'{tag}.json')


def run(args: argparse.Namespace, root: Path, source: str) -> dict:
    np.random.seed(args.seed)
    files = find_images(root, args.num_images)
    pipelines = build_pipelines(args)
    load_before = os.getloadavg()
    per_image = time_pipelines(pipelines, files, args.rounds)
    transform_s = time_mask_transform(args)
    median = {name: statistics.median(v) for name, v in per_image.items()}
    share = transform_s / median['with_mask']
    report = dict(
        source=source,
        num_images=len(files),
        settings=dict(
            img_size=args.img_size, patch_size=args.patch_size,
            mask_ratio=args.mask_ratio, rounds=args.rounds,
            transform_calls=args.transform_calls),
        machine=dict(
            platform=platform.platform(), python=platform.python_version(),
            logical_cpus=os.cpu_count(),
            load_average_before=[round(x, 2) for x in load_before],
            load_average_after=[round(x, 2) for x in os.getloadavg()]),
        pipeline_s_per_image=per_image,
        images_per_s={name: 1 / t for name, t in median.items()},
        mask_transform_s_per_call=transform_s,
        mask_transform_share=share,
        pipeline_difference_share=(median['with_mask'] -
                                   median['without_mask']) /
        median['with_mask'],
        target=dict(max_share=MAX_SHARE, met=share < MAX_SHARE))
    return report


def print_report(report: dict) -> None:
    ips = report['images_per_s']
    print(f"source: {report['source']} ({report['num_images']} images, "
          f"crop {report['settings']['img_size']} px)")
    print(f"pipeline without mask: {ips['without_mask']:9.1f} img/s "
          f"({1e3 / ips['without_mask']:.3f} ms/img)")
    print(f"pipeline with mask:    {ips['with_mask']:9.1f} img/s "
          f"({1e3 / ips['with_mask']:.3f} ms/img)")
    print(f"mask transform alone:  "
          f"{report['mask_transform_s_per_call'] * 1e6:9.2f} us/call")
    print(f"mask transform share of the pipeline: "
          f"{report['mask_transform_share'] * 100:.3f} % "
          f"(target < {MAX_SHARE * 100:.0f} %: "
          f"{'met' if report['target']['met'] else 'NOT met'}); difference "
          f"of the two pipelines: "
          f"{report['pipeline_difference_share'] * 100:.2f} % (noisy)")


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.archive is not None:
        with tempfile.TemporaryDirectory(prefix='benchmark_data_') as tmp:
            root = extract_archive(args.archive, Path(tmp))
            report = run(args, root, source=args.archive.name)
        source_tag = args.archive.name.split('.')[0]
    else:
        root = args.data_root or DEFAULT_DATA_ROOT
        report = run(args, root, source=str(root))
        source_tag = root.name
    print_report(report)
    out = args.out or default_out(args, source_tag)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {out}')
    return report
