# The reference schedule: AdamW (0.9, 0.95), weight decay 0.05, base lr 1e-3
# per 256 images (here 2e-3 for 8 GPUs x 64), 40 warm-up epochs, then cosine
# to 0 at epoch 400, mixed precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=1e-3 * 512 / 256, betas=(0.9, 0.95),
        weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'bias': dict(decay_mult=0.),
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'visible_token': dict(decay_mult=0.),
            'global_query_pos': dict(decay_mult=0.),
        }))

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
