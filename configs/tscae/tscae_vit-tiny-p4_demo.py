# The demo: TSCAE pre-training of a ViT-Tiny-width encoder (192 wide, 3 heads;
# 6 layers instead of ViT-Tiny's 12, to keep it to a few CPU minutes) with
# 4 px patches on 32 px images, on the 1,500 CIFAR-10 training images
# committed under demo/cifar10-mini/ (about 2.4 GFLOP per image and step),
# with the recommended one-way token contrast (README, "Which
# configuration"), for 3 epochs of the short CPU schedule:
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py
_base_ = [
    '../_base_/models/tscae_vit-tiny-d6-p4.py',
    '../_base_/schedules/tscae_adamw-cpu-coslr-6e.py',
    '../_base_/tscae_runtime.py',
]

# recommended; the reference's is two-way (True)
model = dict(contrast_head=dict(symmetric=False))

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
        mask_ratio=0.75),
    dict(type='PackInputs', algorithm_keys=['mask'])
]
train_dataloader = dict(
    batch_size=64,
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

# 3 epochs at lr 2.5e-4 (batch 64), the warm-up from lr x 1e-4
optim_wrapper = dict(optimizer=dict(lr=1e-3 * 64 / 256))
max_epochs = 3
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-4),
    dict(_base_.param_scheduler[1], T_max=max_epochs - 1, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
