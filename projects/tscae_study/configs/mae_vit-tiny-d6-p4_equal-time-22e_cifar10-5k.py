# Study, equal time: MAE for as long as the recommended TSCAE pre-trains (6
# epochs). On the study's machine (2 CPU cores, one thread per run) seed 1's
# median iteration took 2.355 s for the recommended TSCAE and 0.630 s for MAE,
# a ratio of 3.74, so MAE gets round(6 x 3.74) = 22 epochs. The schedule keeps
# its shape: linear warm-up over the first sixth of the run (4 epochs, as 1 of
# 6), then cosine to 0 at the end. Everything else is the MAE study config's.
_base_ = './mae_vit-tiny-d6-p4_6e_cifar10-5k.py'

max_epochs = 22
warmup_epochs = 4
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
# the last two epochs' checkpoints (resume, evaluation), not all 22
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
