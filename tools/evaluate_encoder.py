"""k-NN and linear-probe accuracy of a frozen encoder on labelled image lists.

Examples (the study's data: ``python tools/run_study.py --stages prepare
--archive ...``)::

    python tools/evaluate_encoder.py \
        projects/tscae_study/configs/tscae_vit-tiny-d6-p4_6e_cifar10-5k.py \
        --checkpoint work_dirs/study/tscae/epoch_6.pth
    python tools/evaluate_encoder.py CONFIG --random-init --seed 0 \
        --out random.json

CONFIG is the pre-training config (it names the encoder and the pixel
normalisation). The features are the mean of the patch tokens after the final
norm; the training list is the k-NN bank and the probe's training set, the
test list is evaluated only. Lists are mmpretrain ann files of
``<path relative to --data-root> <class index>`` lines.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch

import tscae_mm  # noqa: F401
from tscae_mm.evaluation import (
    build_encoder,
    encoder_spec,
    knn_accuracy,
    labelled_features,
    linear_probe,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the pre-training config')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--checkpoint', help='checkpoint to evaluate')
    source.add_argument(
        '--random-init',
        action='store_true',
        help='evaluate a randomly initialised encoder (the floor)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--data-root', default='data/cifar10')
    parser.add_argument('--train-list', default='meta/train_5k.txt')
    parser.add_argument('--test-list', default='meta/test.txt')
    parser.add_argument('--knn-k', type=int, default=20)
    parser.add_argument('--knn-temperature', type=float, default=0.07)
    parser.add_argument('--probe-weight-decay', type=float, default=1e-4)
    parser.add_argument(
        '--no-linear', action='store_true', help='k-NN only')
    parser.add_argument('--out', help='write the figures to this JSON file')
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> dict:
    """Run the evaluation described by ``args``; return the figures."""
    start = time.time()
    torch.manual_seed(args.seed)
    spec = encoder_spec(args.config)
    encoder = build_encoder(spec,
                            None if args.random_init else args.checkpoint)
    xtr, ytr = labelled_features(encoder, spec, args.data_root,
                                 osp.join(args.data_root, args.train_list))
    xte, yte = labelled_features(encoder, spec, args.data_root,
                                 osp.join(args.data_root, args.test_list))
    result = dict(
        config=args.config,
        checkpoint=None if args.random_init else args.checkpoint,
        random_init=args.random_init,
        seed=args.seed,
        train_list=args.train_list,
        test_list=args.test_list,
        num_train=len(ytr),
        num_test=len(yte),
        feature='mean of patch tokens after the final norm',
        knn=dict(
            k=args.knn_k,
            temperature=args.knn_temperature,
            top1=knn_accuracy(xtr, ytr, xte, yte, args.knn_k,
                              args.knn_temperature)))
    if not args.no_linear:
        result['linear'] = dict(
            weight_decay=args.probe_weight_decay,
            top1=linear_probe(xtr, ytr, xte, yte, args.probe_weight_decay))
    result['seconds'] = round(time.time() - start, 1)
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    result = evaluate(args)
    line = f"k-NN (k={args.knn_k}) top-1: {result['knn']['top1']:.2f}"
    if 'linear' in result:
        line += f"   linear probe top-1: {result['linear']['top1']:.2f}"
    print(f'{line}   ({result["num_train"]} train / {result["num_test"]} '
          f'test images, {result["seconds"]} s)')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
