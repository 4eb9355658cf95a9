"""Checks that refuse an inconsistent training config before anything runs.

A wrong config fails in seconds with the mismatching values named instead of
failing (or silently training the wrong thing) later:

- :func:`check_runner_config` (the seeded loader, checkpoints kept, schedule
  against loop) is run by :class:`~tscae_mm.engine.ReliableRunner` and
  :class:`~tscae_mm.engine.ReliableFlexibleRunner` before they build
  anything, whichever ``tools/train.py`` builds them.
- :func:`check_tscae_config` (image sizes, patch sizes and masks agree) is
  TSCAE's: our ``tools/train.py`` runs it on every config whose training
  pipeline makes complementary masks (:func:`makes_complementary_masks`,
  through :func:`tscae_mm.utils.build_runner`), before the runner is built.
- :func:`check_training_config` runs both.
"""
import inspect
import logging
import math
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmpretrain.registry import MODELS, TRANSFORMS

from ..datasets.seeded import FORWARDED_KEYS, inner_dataset_config

Size = Tuple[int, int]


class ConfigMismatchError(ValueError):
    """Config values that must agree do not."""


def check_training_config(cfg: ConfigDict) -> None:
    """Run every check below on a training config.

    Args:
        cfg (ConfigDict): The full config (``Config`` or its dict).
    """
    check_tscae_config(cfg)
    check_runner_config(cfg)


def check_runner_config(cfg: ConfigDict) -> None:
    """The checks that hold for any model: the seeded loader, the
    checkpoints kept, the schedule against the training loop.

    Args:
        cfg (ConfigDict): The full config (``Config`` or its dict).
    """
    check_seeded_loader(cfg)
    warn_if_single_checkpoint_kept(cfg)
    warn_if_schedule_and_loop_disagree(cfg)


def makes_complementary_masks(cfg: ConfigDict) -> bool:
    """Whether a training pipeline of ``cfg`` has a
    ``ComplementaryMaskGenerator`` (a TSCAE pre-training config)."""
    return any(
        transform.get('type') == 'ComplementaryMaskGenerator'
        for pipeline in train_pipelines(cfg) for transform in pipeline)


def as_size(value, owner: str) -> Size:
    """(height, width) from an int or a pair; ``owner`` names the value."""
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ConfigMismatchError(f'{owner} must be an int or a (height, width) '
                              f'pair, got {value!r}.')


def train_pipelines(cfg: ConfigDict) -> Iterator[List[dict]]:
    """Each pipeline of the training dataset, through dataset wrappers."""
    pending = [cfg.get('train_dataloader', {}).get('dataset', {})]
    while pending:
        dataset = pending.pop()
        if not isinstance(dataset, dict):
            continue
        dataset = with_forwarded_keys(dataset)
        if 'pipeline' in dataset:
            yield [t for t in dataset['pipeline'] if isinstance(t, dict)]
        pending.extend(dataset.get('datasets', []))
        pending.append(dataset.get('dataset'))


def with_forwarded_keys(dataset: dict) -> dict:
    """A SeededDataset config as the wrapped dataset will see it: the keys
    it passes on (e.g. a ``pipeline`` set on the wrapper) moved inside."""
    inner = dataset.get('dataset')
    if dataset.get('type') != 'SeededDataset' or not isinstance(inner, dict):
        return dataset
    forwarded = {k: v for k, v in dataset.items() if k in FORWARDED_KEYS}
    return dict(dataset=inner_dataset_config(inner, forwarded))


def stated_or_default(registry, part: dict, name: str):
    """``part[name]``, else the default of ``part``'s registered class.

    Args:
        registry (Registry): Where ``part['type']`` is registered.
        part (dict): Config of a model part or a transform.
        name (str): An argument of its class.

    Returns:
        The value, or None where neither the config nor the class gives one.
    """
    if name in part:
        return part[name]
    part_cls = registry.get(part['type']) if part.get('type') else None
    if not inspect.isclass(part_cls):
        return None
    parameter = inspect.signature(part_cls).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def collect_sizes(
    cfg: ConfigDict
) -> Tuple[Dict[str, Size], Dict[str, int], Dict[str, Size]]:
    """The image sizes, patch sizes and patch grids the config states.

    Returns:
        tuple[dict, dict, dict]: ``{where: (h, w)}`` image sizes,
        ``{where: p}`` patch sizes and ``{where: (h/p, w/p)}`` patch grids.
    """
    model = cfg.get('model', {})
    backbone = model.get('backbone') or {}
    image_sizes, patch_sizes, grids = {}, {}, {}
    img_size = stated_or_default(MODELS, backbone, 'img_size')
    if img_size is not None:
        image_sizes['model.backbone.img_size'] = as_size(
            img_size, 'model.backbone.img_size')
    patch_size = stated_or_default(MODELS, backbone, 'patch_size')
    if patch_size is not None:
        patch_sizes['model.backbone.patch_size'] = patch_size
    head = model.get('head') or {}
    if 'patch_size' in head:
        patch_sizes['model.head.patch_size'] = head['patch_size']
    neck = model.get('neck') or {}
    if 'patch_resolution' in neck:
        grids['model.neck.patch_resolution'] = as_size(
            neck['patch_resolution'], 'model.neck.patch_resolution')
    for pipeline in train_pipelines(cfg):
        for transform in pipeline:
            kind = transform.get('type')
            if kind == 'RandomResizedCrop' and 'scale' in transform:
                where = 'train pipeline RandomResizedCrop.scale (crop size)'
                image_sizes[where] = as_size(transform['scale'], where)
            elif kind == 'ComplementaryMaskGenerator':
                where = 'train pipeline ComplementaryMaskGenerator'
                image_sizes[f'{where}.input_size'] = as_size(
                    stated_or_default(TRANSFORMS, transform, 'input_size'),
                    f'{where}.input_size')
                patch_sizes[f'{where}.patch_size'] = stated_or_default(
                    TRANSFORMS, transform, 'patch_size')
    return image_sizes, patch_sizes, grids


def disagreement(values: Dict[str, object], what: str) -> Optional[str]:
    """One line naming every value of ``values`` if they are not all equal."""
    if len(set(values.values())) <= 1:
        return None
    listed = ', '.join(f'{where}={value}' for where, value in values.items())
    return f'{what} disagree: {listed}'


def check_tscae_config(cfg: ConfigDict) -> None:
    """Refuse a config whose image size, patch size and masks disagree.

    The model's ``img_size``, the crop size of the training pipeline and the
    ``ComplementaryMaskGenerator``'s ``input_size`` must be the same image
    size; the backbone's, the pixel head's and the mask generator's
    ``patch_size`` the same patch size; the decoder's ``patch_resolution``
    the patch grid they imply. Values a config does not state are left
    out, except the backbone's, whose class defaults apply.

    Raises:
        ConfigMismatchError: Naming every mismatching value.
    """
    image_sizes, patch_sizes, grids = collect_sizes(cfg)
    problems = [
        disagreement(image_sizes, 'image sizes (height, width)'),
        disagreement(patch_sizes, 'patch sizes')
    ]
    image = image_sizes.get('model.backbone.img_size')
    patch = patch_sizes.get('model.backbone.patch_size')
    if image and patch:
        if image[0] % patch or image[1] % patch:
            problems.append(f'model.backbone.img_size={image} is not a '
                            f'multiple of model.backbone.patch_size={patch}')
        implied = (image[0] // patch, image[1] // patch)
        grids = {'img_size / patch_size of model.backbone': implied, **grids}
        problems.append(disagreement(grids, 'patch grids (rows, columns)'))
    problems = [problem for problem in problems if problem]
    if problems:
        raise ConfigMismatchError(
            'The config is inconsistent; training was not started:\n  - ' +
            '\n  - '.join(problems) + '\nMake the crop size, the model '
            'img_size and the mask generator input_size equal, and use one '
            'patch size throughout.')


def check_seeded_loader(cfg: ConfigDict) -> None:
    """Refuse a SeededDataset without a SeededSampler, and the reverse.

    Raises:
        ConfigMismatchError: Naming the sampler and dataset types.
    """
    loader = cfg.get('train_dataloader') or {}
    sampler = (loader.get('sampler') or {}).get('type')
    dataset = (loader.get('dataset') or {}).get('type')
    if (sampler == 'SeededSampler') == (dataset == 'SeededDataset'):
        return
    raise ConfigMismatchError(
        f'train_dataloader.sampler is {sampler!r} and '
        f'train_dataloader.dataset is {dataset!r}: SeededSampler and '
        'SeededDataset work only together (the sampler yields (seed, epoch, '
        'index) keys that only SeededDataset understands). Use both or '
        'neither.')


def warn_if_single_checkpoint_kept(cfg: ConfigDict) -> None:
    """Warn that ``max_keep_ckpts=1`` can leave nothing to resume from."""
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint.get('max_keep_ckpts') == 1:
        print_log(
            'default_hooks.checkpoint.max_keep_ckpts=1: CheckpointHook '
            'deletes the previous checkpoint before it writes the next one, '
            'so a crash during that write leaves no checkpoint to resume '
            'from. Use max_keep_ckpts >= 2.',
            logger='current',
            level=logging.WARNING)


def schedulers_of(cfg: ConfigDict) -> List[dict]:
    """The config's ``param_scheduler`` entries as a flat list of dicts
    (also for one dict, and for a dict of lists per optimiser)."""
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        schedulers = [s for group in schedulers.values() for s in (
            group if isinstance(group, (list, tuple)) else [group])]
    elif isinstance(schedulers, dict):
        schedulers = [schedulers]
    return [s for s in schedulers if isinstance(s, dict)]


def loop_length(train_cfg: dict) -> Optional[Tuple[str, int, bool]]:
    """(``'train_cfg.max_epochs'`` or ``'train_cfg.max_iters'``, its value,
    whether it counts epochs), or None for a loop without either."""
    for key, by_epoch in (('max_epochs', True), ('max_iters', False)):
        if isinstance(train_cfg.get(key), int):
            return f'train_cfg.{key}', train_cfg[key], by_epoch
    return None


def is_warmup(scheduler: dict) -> bool:
    """A scheduler that ends at the base value (LinearLR / ConstantLR and
    their momentum / parameter variants with the default end_factor 1)."""
    kind = str(scheduler.get('type', ''))
    return (kind.startswith(('Linear', 'Constant'))
            and scheduler.get('end_factor', 1.0) == 1.0)


def warn_if_schedule_and_loop_disagree(cfg: ConfigDict) -> None:
    """Warn when the schedulers end elsewhere than the training loop.

    A child config (or ``--cfg-options``) that changes
    ``train_cfg.max_epochs`` keeps the base config's ``param_scheduler``,
    whose ``begin`` / ``end`` are fixed numbers: a shorter run then stops
    before the schedule ends (or is all warm-up), a longer one goes on at
    the final value of a decay. Only schedulers counted in the loop's unit
    (``by_epoch``) with a finite ``end`` are compared; a warm-up that ends
    before the loop (it ends at the base value) is fine. The schedule is
    never changed. A deliberately shortened run (e.g. ``tools/run_study.py``
    screening the first epochs of a longer schedule) may ignore the warning.
    """
    length = loop_length(cfg.get('train_cfg') or {})
    if length is None:
        return
    loop_key, max_length, loop_by_epoch = length
    unit = 'epoch' if loop_by_epoch else 'iteration'
    timed = [(index, s) for index, s in enumerate(schedulers_of(cfg))
             if s.get('by_epoch', True) == loop_by_epoch
             and isinstance(s.get('end'), (int, float))
             and math.isfinite(s['end'])]
    too_long = [(i, s) for i, s in timed if s['end'] > max_length]
    decays = [(i, s) for i, s in timed if not is_warmup(s)]
    if too_long:
        index, last = max(too_long, key=lambda item: item[1]['end'])
        effect = (f'the run stops at {unit} {max_length}, before the '
                  'schedule has run its course')
        covering = [s for _, s in too_long
                    if is_warmup(s) and s.get('begin', 0) == 0]
        if covering:
            effect += (f'; the whole run is warm-up ({covering[0]["type"]} '
                       f'ends at {unit} {covering[0]["end"]})')
    elif decays and max(s['end'] for _, s in decays) < max_length:
        index, last = max(decays, key=lambda item: item[1]['end'])
        effect = (f'its last {max_length - last["end"]} {unit}(s) run on at '
                  f'the final value of {last.get("type")}')
    else:
        return
    spans = '; '.join(
        f"param_scheduler[{i}] {s.get('type')} from {unit} "
        f"{s.get('begin', 0)} to {s['end']}" for i, s in timed)
    print_log(
        f'{loop_key}={max_length} but the param_scheduler ends at {unit} '
        f'{last["end"]} (param_scheduler[{index}].end): {effect}. '
        f'Schedule: {spans}. If you changed {loop_key}, also set the '
        "schedulers' begin / end (and CosineAnnealingLR's T_max) to match "
        'it (e.g. a new param_scheduler list in your config), or set '
        f'{loop_key}={last["end"]} back. A run that deliberately stops '
        'early (e.g. tools/run_study.py screening the first epochs of a '
        'longer schedule) can ignore this.',
        logger='current',
        level=logging.WARNING)
