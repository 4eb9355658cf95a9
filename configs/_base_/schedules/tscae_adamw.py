# TSCAE's optimiser (the reference's): AdamW (0.9, 0.95), weight decay 0.05,
# none on norms, biases, position embeddings and the learned tokens; lr 1e-3
# per 256 images (children set the lr of their batch and the schedule).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
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
