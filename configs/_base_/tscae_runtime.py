# Runtime shared by the TSCAE and MAE pre-training configs of this project.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
runner_type = 'ReliableRunner'
custom_hooks = [
    dict(type='ReproducibleRandomnessHook'),
    dict(type='NonFiniteLossHook', action='raise'),
    dict(type='SkippedImagesHook'),
    dict(type='GlobalBatchLossHook'),
    # collapse statistics of 64 fixed training images every 100 iterations,
    # under collapse/* in the log and the visualizer; warns once per
    # statistic that crosses its threshold (README, "Which configuration")
    dict(type='TSCAECollapseMonitorHook', interval=100, num_images=64),
]
