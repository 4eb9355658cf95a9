# Short CPU runs (the demo, the study's pre-training; docs/results.md):
# TSCAE's AdamW (tscae_adamw.py) at lr 1e-3 for batch 64, one epoch of
# linear warm-up from lr x 1e-3, then cosine decay to 0 at epoch 6, updated
# every iteration. A run of another length moves the schedulers' ends (the
# demo: 3 epochs):
#   max_epochs = 3
#   param_scheduler = [
#       _base_.param_scheduler[0],
#       dict(_base_.param_scheduler[1], T_max=max_epochs - 1, end=max_epochs)]
#   train_cfg = dict(max_epochs=max_epochs)
_base_ = './tscae_adamw.py'
optim_wrapper = dict(optimizer=dict(lr=1e-3))

max_epochs = 6
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=0.,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# `--auto-scale-lr` rescales lr from this total batch to the actual one.
auto_scale_lr = dict(base_batch_size=64)
