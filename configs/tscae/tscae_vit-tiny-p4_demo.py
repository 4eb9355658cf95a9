# The demo: TSCAE pre-training of a ViT-Tiny-width encoder (192 wide, 3 heads;
# 6 layers instead of ViT-Tiny's 12, to keep it to a few CPU minutes) with
# 4 px patches on 32 px images, on the 1,500 CIFAR-10 training images
# committed under demo/cifar10-mini/, in TSCAE's efficient form (configs/tscae/
# README.md, "Which configuration"), for 4 epochs at lr 1e-3:
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py
#
# The efficient form costs what MAE does per step: every image gives 4 teacher
# views whose visible sets are disjoint and cover it (num_views=4; 16 images x
# 4 views = 64 encoder sequences per step, token-drop passes on cls + V only),
# and the feature targets at a view's hidden patches are the detached outputs
# of its 3 sibling views, so there is no separate student pass. Its token
# contrast is the same-image InfoNCE (ConMIM), the global target is
# stop-gradient, and a variance / covariance term keeps the teacher tokens
# apart. In 4 epochs (376 steps, about 2.5 minutes on 2 cores) the
# reconstruction at the hidden patches beats a mean-colour fill by 3.5 dB on
# the README's two images (README, "The two commands"); the earlier demo, the
# recommended two-pass form for 3 epochs of 64 images (72 steps, about 2
# minutes), stayed 0.2 dB below the fill.
_base_ = [
    '../_base_/models/tscae_vit-tiny-d6-p4.py',
    '../_base_/schedules/tscae_adamw-cpu-coslr-6e.py',
    '../_base_/tscae_runtime.py',
]

model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views',
    contrast_head=dict(symmetric=False, loss_type='infonce_image'),
    global_head=dict(stop_grad_target=True),
    token_regularizer=dict(type='TokenVarianceCovarianceLoss'))

train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='ComplementaryMaskGenerator',
        input_size=32,
        patch_size=4,
        mask_ratio=0.75,
        num_views=4),
    dict(type='PackInputs', algorithm_keys=['mask'])
]
train_dataloader = dict(
    batch_size=16,  # images; x 4 views = 64 encoder sequences
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SeededDataset',
        dataset=dict(
            type='CustomDataset',
            data_root='{{ fileDirname }}/../../demo/cifar10-mini',
            with_label=False,
            pipeline=train_pipeline)))

# lr 1e-3 for 64 sequences (the CPU schedule's); half an epoch of warm-up from
# lr x 1e-3, then cosine to 0 at epoch 4
max_epochs = 4
param_scheduler = [
    dict(_base_.param_scheduler[0], end=0.5),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - 0.5,
        begin=0.5,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
