"""The runs of the CPU-sized study (docs/results.md): what each trains,
its seeds and the settings the comparison groups them into."""
import functools
import os.path as osp
import sys
from typing import Dict, NamedTuple, Optional, Tuple

from .comparison import Setting

PYTHON = sys.executable
# the study's configs: this project's configs/ folder. Run configs are named
# relative to it; the records (study.json, the fine-tuning results) name them
# by their place in the repository.
CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                       'configs')
CONFIG_PREFIX = 'projects/tscae_study/configs/'
# what the study's trainings run (relative to the current directory: the
# commands run from the repository root) and where the study configs read
# the CIFAR-10 images
TRAIN_SCRIPT = 'tools/train.py'
DATA_ROOT = 'data/cifar10'
STAGES = ('prepare', 'pretrain', 'knn-curve', 'evaluate', 'diagnose',
          'finetune', 'report')
CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
           'horse', 'ship', 'truck')
SEED = 0
PRETRAIN_PER_CLASS = 500
CURVE_TEST_PER_CLASS = 100
CURVE_BANK_PER_CLASS = 200
FINETUNE_CONFIG = 'vit-tiny-d6-p4_ft-3e_cifar10-5k.py'


def config_file(config: str) -> str:
    """The file of study config ``config`` (a path under
    :data:`CONFIG_ROOT`)."""
    return osp.join(CONFIG_ROOT, config)


def config_label(config: str) -> str:
    """How the records name study config ``config``: its path in the
    repository."""
    return CONFIG_PREFIX + config


class Run(NamedTuple):
    """One pre-training run of the study."""
    config: str
    label: str
    method: str  # tscae | tscae_token_drop | mae | tscae_<variant>
    images: str  # clean | resample2
    # screening runs train the first SCREENING_EPOCHS epochs of the study's
    # 6-epoch schedule (the same learning rates), then stop
    screening: bool = False
    # a run whose config is a screening run's continues from that run's
    # last checkpoint instead of repeating its epochs (the schedules are the
    # same, and resuming a run is exact)
    warm_start: Optional[str] = None
    # extra ``--cfg-options`` of the pre-training command (e.g. a
    # degradation of the pre-training images on top of a degraded config)
    options: Tuple[str, ...] = ()

    @property
    def epochs(self) -> int:
        """Pre-training epochs: the config's ``train_cfg.max_epochs`` (6,
        22 for the equal-time MAE); SCREENING_EPOCHS for a screening run."""
        return SCREENING_EPOCHS if self.screening else config_epochs(
            self.config)


@functools.lru_cache(maxsize=None)
def config_epochs(config: str) -> int:
    """``train_cfg.max_epochs`` of study config ``config``."""
    from mmengine.config import Config
    return Config.fromfile(config_file(config)).train_cfg.max_epochs


def run_key(name: str, seed: int) -> str:
    """The work dir / result name of run ``name`` with ``seed``: the name
    itself for seed 0 (the study's first seed), ``<name>-seed<seed>``
    otherwise."""
    if seed < 0:
        raise ValueError(f'seeds are non-negative ints, got {seed}')
    return name if seed == 0 else f'{name}-seed{seed}'


def parse_key(key: str) -> Tuple[str, int]:
    """Inverse of :func:`run_key`: ``(name, seed)``."""
    name, sep, seed = key.rpartition('-seed')
    if sep and seed.isdigit():
        return name, int(seed)
    return key, 0


SCREENING_EPOCHS = 3
SCREENING = 'screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_'
RECOMMENDED = 'tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py'
RECOMMENDED_TOKEN_DROP = ('tscae_vit-tiny-d6-p4-token-drop_6e_'
                          'cifar10-5k_recommended.py')
# configs with an ImageDegradation step at index 1 of the pre-training
# pipeline (resample, severity 2); other degradations are set with
# --cfg-options on that step
DEGRADED_MAE = 'mae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py'
DEGRADED_RECOMMENDED = ('tscae_vit-tiny-d6-p4_6e_cifar10-5k-'
                        'resample2_recommended.py')
# the degradations tried on the pre-training images, in the order tried
# (tscae_mm.datasets.ImageDegradation, severities 1..5): the search for one
# that costs MAE's linear probe at least 2 points stopped at the first
DEGRADATIONS = {
    'blur4': ('blur', 4, 'Gaussian blur, sigma 2 px'),
    'noise5': ('noise', 5, 'Gaussian noise, std 48 grey levels'),
}
DEGRADATION = 'noise5'  # the one found: MAE and the recommended TSCAE on it


def degradation_options(images: str) -> Tuple[str, ...]:
    """``--cfg-options`` that set the ImageDegradation step of a degraded
    study config to ``DEGRADATIONS[images]``."""
    kind, severity, _ = DEGRADATIONS[images]
    step = 'train_dataloader.dataset.dataset.pipeline.1'
    return (f'{step}.kind={kind}', f'{step}.severity={severity}')


RUNS: Dict[str, Run] = {
    'tscae':
    Run('tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'TSCAE (reference)', 'tscae', 'clean'),
    'mae':
    Run('mae_vit-tiny-d6-p4_6e_cifar10-5k.py', 'MAE', 'mae',
        'clean'),
    'tscae_token_drop':
    Run('tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k.py',
        'TSCAE (token-drop)', 'tscae_token_drop', 'clean'),
    'tscae_resample2':
    Run('tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py',
        'TSCAE (reference)', 'tscae', 'resample2'),
    'mae_resample2':
    Run('mae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py', 'MAE',
        'mae', 'resample2'),
    # the recommended configuration's full study run: its screening run,
    # continued from epoch 3 to the study's 6 epochs
    'tscae_recommended':
    Run(RECOMMENDED, 'TSCAE (recommended: one-way token contrast)',
        'tscae_recommended', 'clean', warm_start='screen_one_sided'),
    # the recommended configuration in token-drop mode, continued from its
    # screening run
    'tscae_recommended_token_drop':
    Run(RECOMMENDED_TOKEN_DROP,
        'TSCAE (recommended, token-drop passes)',
        'tscae_token_drop_recommended', 'clean',
        warm_start='screen_one_sided_token_drop'),
    # MAE for the recommended TSCAE's wall-clock (the config says how the
    # epochs were counted)
    'mae_equal_time':
    Run('mae_vit-tiny-d6-p4_equal-time-22e_cifar10-5k.py',
        'MAE', 'mae', 'clean'),
    # the runner-up of the screening, continued to 6 epochs as well
    'tscae_one_sided_stop_grad_global':
    Run(SCREENING + 'one-sided_stop-grad-global.py',
        'TSCAE, one-way contrast + stop-gradient global target',
        'tscae_one_sided_stop_grad_global', 'clean',
        warm_start='screen_one_sided_stop_grad_global'),
    # the best k-NN of the screening, continued to 6 epochs as well
    'tscae_vicreg':
    Run(SCREENING + 'vicreg.py',
        'TSCAE, variance / covariance term on h_S', 'tscae_vicreg', 'clean',
        warm_start='screen_vicreg'),
    # image quality: MAE on each candidate degradation (seed 0) to find one
    # that costs MAE's linear probe at least 2 points; then MAE and the
    # recommended TSCAE on it with every seed
    **{
        f'mae_{images}': Run(DEGRADED_MAE, 'MAE', 'mae', images,
                             options=degradation_options(images))
        for images in DEGRADATIONS
    },
    f'tscae_recommended_{DEGRADATION}':
    Run(DEGRADED_RECOMMENDED, 'TSCAE (recommended: one-way token contrast)',
        'tscae_recommended', DEGRADATION,
        options=degradation_options(DEGRADATION)),
    # diagnostic, not part of the default set (docs/results.md, "Why")
    'diag_no_contrast':
    Run('diagnostics/'
        'tscae_vit-tiny-d6-p4_6e_cifar10-5k_no-contrast.py',
        'TSCAE (reference) without token contrast', 'tscae_no_contrast',
        'clean'),
    # screening of the anti-collapse switches (docs/results.md, "Making
    # TSCAE learn"): each alone on the reference passes, then combinations,
    # then the most promising in token-drop mode
    'screen_reference':
    Run('tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'reference (no switch)', 'tscae', 'clean', screening=True),
    'screen_ema':
    Run(SCREENING + 'ema.py', 'momentum target encoder', 'tscae_ema',
        'clean', screening=True),
    'screen_one_sided':
    Run(RECOMMENDED, 'one-way token contrast (the recommended '
        'configuration)', 'tscae_one_sided', 'clean', screening=True),
    'screen_infonce':
    Run('diagnostics/'
        'tscae_vit-tiny-d6-p4_6e_cifar10-5k_infonce.py',
        'InfoNCE token contrast', 'tscae_infonce', 'clean', screening=True),
    'screen_dino_global':
    Run(SCREENING + 'dino-global.py',
        'global target: stop-gradient, centering, sharpening',
        'tscae_dino_global', 'clean', screening=True),
    'screen_vicreg':
    Run(SCREENING + 'vicreg.py', 'variance / covariance term on h_S',
        'tscae_vicreg', 'clean', screening=True),
    'screen_ema_dino_global':
    Run(SCREENING + 'ema_dino-global.py',
        'momentum target + one-way contrast + DINO-style global target',
        'tscae_ema_dino_global', 'clean', screening=True),
    'screen_one_sided_stop_grad_global':
    Run(SCREENING + 'one-sided_stop-grad-global.py',
        'one-way contrast + stop-gradient global target',
        'tscae_one_sided_stop_grad_global', 'clean', screening=True),
    'screen_one_sided_stop_grad_global_norm_pix':
    Run(SCREENING + 'one-sided_stop-grad-global_norm-pix.py',
        'one-way contrast + stop-gradient global target + normalised pixel '
        'targets', 'tscae_one_sided_stop_grad_global_norm_pix', 'clean',
        screening=True),
    'screen_one_sided_vicreg':
    Run(SCREENING + 'one-sided_vicreg.py',
        'one-way contrast + variance / covariance term on h_S',
        'tscae_one_sided_vicreg', 'clean', screening=True),
    'screen_one_sided_token_drop':
    Run(RECOMMENDED_TOKEN_DROP,
        'one-way token contrast, token-drop passes (the recommended '
        'configuration)', 'tscae_token_drop_one_sided', 'clean',
        screening=True),
    'screen_ema_token_drop':
    Run('screening/tscae_vit-tiny-d6-p4-token-drop_6e_'
        'cifar10-5k_ema.py', 'momentum target encoder, token-drop passes',
        'tscae_token_drop_ema', 'clean', screening=True),
    'screen_one_sided_stop_grad_global_token_drop':
    Run('screening/tscae_vit-tiny-d6-p4-token-drop_6e_'
        'cifar10-5k_one-sided_stop-grad-global.py',
        'one-way contrast + stop-gradient global target, token-drop passes',
        'tscae_token_drop_one_sided_stop_grad_global', 'clean',
        screening=True),
    # what learning looks like at the screening length
    'screen_mae':
    Run('mae_vit-tiny-d6-p4_6e_cifar10-5k.py',
        'MAE (for comparison)', 'mae', 'clean', screening=True),
}
RANDOM_INIT = 'random_init'
# the seeded comparison (docs/results.md, "TSCAE vs MAE, with seeds"), in
# table order; every seed of each run that has results
COMPARISON = [
    Setting(RANDOM_INIT),
    Setting('mae'),
    Setting('tscae'),
    Setting('tscae_recommended', recommended=True),
    Setting('tscae_recommended_token_drop'),
    Setting('mae_equal_time', equal_time=True),
    Setting('mae_resample2'),
    Setting('tscae_resample2'),
    *(Setting(f'{method}_{images}') for images in DEGRADATIONS
      for method in ('mae', 'tscae_recommended')),
]
# the runs of the seeded comparison (every seed)
SEEDED_RUNS = [
    'mae', 'tscae', 'tscae_recommended', 'tscae_recommended_token_drop',
    'mae_equal_time', f'mae_{DEGRADATION}', f'tscae_recommended_{DEGRADATION}'
]
COMMANDS = [
    'python tools/run_study.py --stages prepare --archive '
    '../shared/data/cifar10-jpg.tar.gz',
    '# seed 0 of the single-seed study and the screening: docs/results.md',
    'python tools/run_study.py --stages pretrain evaluate --runs '
    'mae_blur4 mae_noise5  # the degradation search (MAE, seed 0)',
    'python tools/run_study.py --stages pretrain evaluate finetune --runs ' +
    ' '.join(SEEDED_RUNS) + ' --seeds 0 1',
    'python tools/run_study.py --stages report --runs all --seeds 0 1',
]
DEFAULT_RUNS = [
    name for name, run in RUNS.items()
    if not name.startswith('diag_') and not run.screening
]
TABLES_BEGIN = '<!-- tables: written by tools/run_study.py, do not edit -->'
TABLES_END = '<!-- end of tables -->'
RESULTS_BEGIN = '<!-- results: written by tools/run_study.py, do not edit -->'
RESULTS_END = '<!-- end of results -->'
MAX_EPOCHS = 6

