# The reference schedule: AdamW (0.9, 0.95), weight decay 0.05, base lr 1e-3
# per 256 images (here 2e-3 for 8 GPUs x 64), 40 warm-up epochs, then cosine
# to 0 at epoch 400, mixed precision (DeviceAmpOptimWrapper: float16 with
# dynamic loss scaling on GPUs, bfloat16 autocast on CPU).
_base_ = './tscae_adamw.py'
optim_wrapper = dict(
    type='DeviceAmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(lr=1e-3 * 512 / 256))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=40,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=360,
        eta_min=0.,
        by_epoch=True,
        begin=40,
        end=400,
        convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
# `--auto-scale-lr` rescales lr from this total batch to the actual one.
auto_scale_lr = dict(base_batch_size=512)
