"""Watch a pre-training run for representation collapse, and say so."""
import time
from typing import Dict, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...datasets.seeded import preserved_random_state

PREFIX = 'collapse/'
INITIAL_RANK_KEY = 'collapse_monitor/initial_effective_rank'

# Calibrated on the study's runs (docs/results.md, "Collapse monitor"),
# measured by this hook on its 64 training images: h_S within an image went
# above 0.95 in the reference run and in the screening runs that did worst
# (k-NN 22-27), and stayed below in the recommended one; the pooled
# features' effective rank dips to 0.4-0.8 of its first value early in every
# run, and below 0.4 only in the worst one (DINO-style global target, k-NN
# 22.4). g_S between images goes above 0.99 in every run with the
# reference's global loss, the recommended one included: that loss is then
# inert, which the study's encoders survived.
DEFAULT_THRESHOLDS = dict(
    student_within_image_cos=0.95,
    student_global_between_images_cos=0.99,
    same_position_between_images_cos=0.95,
    effective_rank_ratio=0.4)

RECOMMENDED = (
    'the recommended configuration (configs/tscae/*-recommended-*.py; in '
    'your own config model = dict(contrast_head=dict(symmetric=False))) '
    'makes the token contrast one-way '
    '(model.contrast_head.symmetric=False), so that nothing pulls the '
    'student pass towards the decoder; model.target_momentum=0.01 (a '
    'momentum target encoder) also measured better than the reference. See '
    'README, "Which configuration"')

MEANINGS = dict(
    student_within_image_cos=(
        "the student pass's output tokens at M (h_S) are collapsing to one "
        'vector per image: the token contrast is then solved without '
        'looking at the image, and on the CIFAR-10 study encoders in this '
        'state ended at or below the random-init floor in k-NN. To counter '
        'it, ' + RECOMMENDED),
    student_global_between_images_cos=(
        "the student's global feature (g_S, the global-consistency target) "
        'is nearly the same vector for every image: the global loss is '
        'solved trivially and teaches the encoder nothing. On the CIFAR-10 '
        'study this happened in every run with the reference\'s global loss, '
        'the recommended configuration included, and did not stop its '
        'encoder from learning; model.global_head.stop_grad_target=True '
        'keeps g_S apart (0.87-0.91 there) at some cost in k-NN'),
    same_position_between_images_cos=(
        'the tokens of different images at the same position are nearly '
        'equal: the encoder encodes where a patch is rather than what it '
        'shows (the trivial solution a same-position contrast such as '
        "contrast_head.loss_type='infonce' cannot see). To counter it, " +
        RECOMMENDED),
    effective_rank_ratio=(
        'the pooled features of different images span far fewer directions '
        'than at the first check (effective rank <rank>, first '
        '<initial>): images are becoming indistinguishable to a linear '
        'classifier; on the CIFAR-10 study only the DINO-style global target '
        '(centering + sharpening of g_S) went this low, and it did worst. '
        'To counter it, ' + RECOMMENDED))


@HOOKS.register_module()
class TSCAECollapseMonitorHook(Hook):
    """Log collapse statistics of a fixed batch, and warn when they cross
    a threshold.

    Every ``interval`` training iterations (and after the last one), the
    main process takes ``num_images`` fixed images of the training set
    (loaded once, before training, through the training pipeline) and
    computes, with :mod:`tscae_mm.evaluation.feature_stats`:

    - for every model with a ViT ``backbone`` (TSCAE, MAE, ...), on the
      plain encoder: ``within_image_cos``, ``between_images_cos``,
      ``effective_rank`` of the pooled features and
      ``same_position_between_images_cos``;
    - for TSCAE also, inside its passes (with the samples' masks):
      ``student_within_image_cos`` (h_S), ``student_global_between_images_cos``
      (g_S), ``teacher_within_image_cos`` and the decoder's statistics.

    They are written to the visualizer under ``collapse/<name>`` (the JSON
    scalars file, TensorBoard, ...) and as one log line. The first time a
    statistic crosses its threshold the hook warns, once, saying what
    collapsed, what it means for the encoder and which switches counter it;
    ``effective_rank_ratio`` compares with the first check of the run
    (kept in the message hub, so a resumed run compares with the same one).

    It never changes training: it runs without gradient, in eval mode, on
    the unwrapped model, and restores the random number generators' states;
    the other processes of a distributed run do nothing (no collective
    call, so no process waits on another).

    Args:
        interval (int): Check every this many iterations. Defaults to 100.
        num_images (int): Images in the fixed batch. Defaults to 64.
        thresholds (dict, optional): Overrides of ``DEFAULT_THRESHOLDS``;
            a value of None switches that warning off.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 100,
                 num_images: int = 64,
                 thresholds: Optional[Dict[str, Optional[float]]] = None
                 ) -> None:
        if interval < 1 or num_images < 2:
            raise ValueError('TSCAECollapseMonitorHook: interval must be >= 1 '
                             'and num_images >= 2 (statistics compare '
                             f'images); got {interval} and {num_images}.')
        unknown = set(thresholds or {}) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise ValueError(
                f'TSCAECollapseMonitorHook: unknown thresholds '
                f'{sorted(unknown)}; known: {sorted(DEFAULT_THRESHOLDS)}.')
        self.interval = interval
        self.num_images = num_images
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.warned = set()
        self.batch = None
        self.seconds = 0.

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        with preserved_random_state():
            self.batch = self._fixed_batch(runner)
        if self.batch is not None and runner.message_hub.get_info(
                INITIAL_RANK_KEY) is None:
            self.check(runner, step=runner.iter)  # the initialisation

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.batch is None:  # other processes, or nothing to look at
            return
        if (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            self.check(runner, step=runner.iter + 1)

    def check(self, runner, step: int) -> None:
        """Measure, log under ``step`` and warn where a threshold is
        crossed."""
        start = time.perf_counter()
        with preserved_random_state():
            stats = self.measure(runner)
        self.seconds += time.perf_counter() - start
        stats['monitor_seconds_total'] = self.seconds
        runner.visualizer.add_scalars(
            {PREFIX + k: v for k, v in stats.items()}, step=step)
        runner.logger.info(f'Collapse monitor, iteration {step}: ' +
                           ', '.join(f'{k} {v:.3f}' for k, v in stats.items()))
        self._warn(runner, stats, step)

    def measure(self, runner) -> Dict[str, float]:
        """The statistics of the fixed batch under the current weights."""
        from ...evaluation.feature_stats import pass_stats, plain_stats
        model = unwrapped_model(runner)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(self.batch, False)
                images = data['inputs']
                stats = plain_stats(model.backbone, images)
                if self._has_passes(model, data['data_samples']):
                    from ...models.selfsup.tscae import stack_masks
                    stats.update(
                        pass_stats(model, images,
                                   stack_masks(data['data_samples'])))
        finally:
            model.train(was_training)
        initial = runner.message_hub.get_info(INITIAL_RANK_KEY)
        if initial is None:
            initial = stats['effective_rank']
            runner.message_hub.update_info(INITIAL_RANK_KEY, initial)
        stats['effective_rank_ratio'] = stats['effective_rank'] / initial
        return stats

    def _fixed_batch(self, runner) -> Optional[dict]:
        """The first ``num_images`` training samples, as a data batch."""
        from mmpretrain.models import VisionTransformer
        model = unwrapped_model(runner)
        if not isinstance(getattr(model, 'backbone', None),
                          VisionTransformer):
            runner.logger.warning(
                'TSCAECollapseMonitorHook: the model has no ViT backbone '
                f'({type(getattr(model, "backbone", model)).__name__}); the '
                'collapse monitor is off for this run.')
            return None
        dataset = runner.train_dataloader.dataset
        count = min(self.num_images, len(dataset))
        if count < 2:
            runner.logger.warning(
                'TSCAECollapseMonitorHook: the training set has '
                f'{len(dataset)} image(s); the statistics compare images, '
                'so the collapse monitor is off for this run.')
            return None
        if count < self.num_images:
            runner.logger.warning(
                f'TSCAECollapseMonitorHook: num_images={self.num_images} but '
                f'the training set has {len(dataset)} images; the monitor '
                f'uses all {count}.')
        samples = [dataset[i] for i in range(count)]
        return runner.train_dataloader.collate_fn(samples)

    @staticmethod
    def _has_passes(model, data_samples) -> bool:
        from tscae_mm.models import TSCAE
        return isinstance(model, TSCAE) and 'mask' in data_samples[0]

    def _warn(self, runner, stats: Dict[str, float], step: int) -> None:
        for name, threshold in self.thresholds.items():
            if threshold is None or name not in stats or name in self.warned:
                continue
            value = stats[name]
            crossed = value < threshold if name == 'effective_rank_ratio' \
                else value > threshold
            if not crossed:
                continue
            self.warned.add(name)
            initial = runner.message_hub.get_info(INITIAL_RANK_KEY)
            meaning = MEANINGS[name].replace(
                '<rank>', f"{stats['effective_rank']:.1f}").replace(
                    '<initial>', f'{initial:.1f}')
            relation = 'below' if name == 'effective_rank_ratio' else 'above'
            print_log(
                f'COLLAPSE WARNING (iteration {step}): {name} = '
                f'{value:.3f}, {relation} its threshold {threshold}. This '
                f'means {meaning}. (This warning '
                'is given once per run; the statistics keep being logged '
                f'under {PREFIX}*.)',
                logger='current',
                level=30)


def unwrapped_model(runner):
    """The runner's model without its DDP / FSDP wrapper."""
    return runner.model.module if is_model_wrapper(
        runner.model) else runner.model
