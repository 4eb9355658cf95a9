"""Time the training step of several pre-training configs side by side.

Each config's model, optimiser wrapper and data pipeline are built from the
config itself (``Config.fromfile`` + ``--cfg-options``), in ONE process, and
timed interleaved: every timed round runs one training step of each config,
in an order that rotates from round to round, so that a change of machine
load hits every config alike. A step is ``model.train_step(batch,
optim_wrapper)``: data preprocessing, forward, backward and the optimiser's
step, exactly what the Runner's training loop runs per iteration (the data
loading is not timed: each config's batches are loaded before timing and
cycled).

Reported per config: the median and quartiles of seconds per step,
images per second, and the ratio of its median to the first config's (the
reference, e.g. MAE): the cost per image relative to it.

    python tools/benchmark_configs.py mae=CONFIG_A tscae=CONFIG_B ... \
        --data-root data/cifar10 --threads 2 --iters 30 --out speed.json
"""
import argparse
import json
import os
import platform
import statistics
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings


class ConfigStep:
    """One config's model, optimiser wrapper and a few loaded batches."""

    def __init__(self, name: str, config: str, options: Optional[dict],
                 data_root: Optional[str], batches: int, seed: int):
        cfg = Config.fromfile(config)
        if options:
            cfg.merge_from_dict(options)
        if data_root is not None:
            set_data_root(cfg.train_dataloader.dataset, data_root)
        if cfg.get('custom_imports'):
            import_modules_from_strings(**cfg.custom_imports)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        from mmpretrain.registry import MODELS
        torch.manual_seed(seed)
        self.name, self.config = name, config
        self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        self.model.train()
        self.optim_wrapper = build_optim_wrapper(self.model,
                                                 cfg.optim_wrapper)
        loader = Runner.build_dataloader(
            dict(cfg.train_dataloader, num_workers=0,
                 persistent_workers=False), seed=seed)
        self.batches = []
        for batch in loader:
            self.batches.append(batch)
            if len(self.batches) == batches:
                break
        self.batch_size = len(self.batches[0]['inputs'])
        self.calls = 0

    def step(self) -> float:
        """One training step on the next loaded batch; its seconds."""
        batch = self.batches[self.calls % len(self.batches)]
        self.calls += 1
        start = time.perf_counter()
        self.model.train_step(batch, self.optim_wrapper)
        return time.perf_counter() - start


def set_data_root(dataset_cfg, data_root: str) -> None:
    """Set ``data_root`` on the innermost dataset of a (wrapped) config."""
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    dataset_cfg['data_root'] = data_root


def time_side_by_side(steps: List[ConfigStep], iters: int,
                      warmup: int) -> Dict[str, List[float]]:
    """Seconds of each config's steps over ``iters`` rotating rounds."""
    for _ in range(warmup):
        for step in steps:
            step.step()
    times = {step.name: [] for step in steps}
    for i in range(iters):
        for k in range(len(steps)):
            step = steps[(i + k) % len(steps)]
            times[step.name].append(step.step())
    return times


def summary(times: List[float], batch_size: int, reference: float) -> dict:
    q1, median, q3 = statistics.quantiles(times, n=4)
    return dict(
        median_s=round(median, 4),
        q1_s=round(q1, 4),
        q3_s=round(q3, 4),
        images_per_s=round(batch_size / median, 2),
        cost_ratio=round(median / reference, 3))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'configs', nargs='+',
        help='pre-training configs; the first is the reference of the '
        'ratios. NAME=PATH names a config (default: its file name)')
    parser.add_argument('--data-root', help='data_root of every config')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batches', type=int, default=4,
                        help='batches loaded per config and cycled')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='options merged into every config')
    parser.add_argument('--out', help='JSON file to write')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    steps = []
    for entry in args.configs:
        name, sep, path = entry.partition('=')
        if not sep:
            name, path = os.path.splitext(os.path.basename(entry))[0], entry
        if not os.path.isfile(path):
            raise FileNotFoundError(f'config {path} not found')
        steps.append(
            ConfigStep(name, path, args.cfg_options, args.data_root,
                       args.batches, args.seed))
    load_before = os.getloadavg()
    times = time_side_by_side(steps, args.iters, args.warmup)
    reference = statistics.median(times[steps[0].name])
    result = dict(
        command='benchmark_configs ' + ' '.join(argv or []),
        threads=args.threads,
        iters=args.iters,
        warmup=args.warmup,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in os.getloadavg()],
        configs={
            step.name:
            dict(config=step.config, batch_size=step.batch_size,
                 **summary(times[step.name], step.batch_size, reference))
            for step in steps
        })
    for name, row in result['configs'].items():
        print(f'{name:40s} {row["median_s"]:.3f} s/step '
              f'({row["q1_s"]:.3f}-{row["q3_s"]:.3f}) '
              f'{row["images_per_s"]:7.1f} img/s  x{row["cost_ratio"]:.2f}')
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)),
                    exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result
