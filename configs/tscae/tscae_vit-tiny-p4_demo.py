# The demo: TSCAE pre-training of a ViT-Tiny-width encoder (192 wide, 3 heads;
# 6 layers instead of ViT-Tiny's 12, to keep it to a few CPU minutes) with
# 4 px patches on 32 px images, on the 1,500 CIFAR-10 training images
# committed under demo/cifar10-mini/ (about 2.4 GFLOP per image and step),
# with the recommended one-way token contrast (configs/_base_/
# tscae_recommended.py; README, "Which configuration"):
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py
_base_ = '../_base_/tscae_runtime.py'

model = dict(
    type='TSCAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        to_rgb=True),
    backbone=dict(
        type='TSCAEViT',
        arch=dict(
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=32,
        patch_size=4,
        masked_pretraining=True,
        token_drop=False),
    neck=dict(
        type='TSCAETeacherDecoder',
        patch_resolution=8,
        in_channels=192,
        embed_dims=192,
        num_layers=2,
        num_heads=3),
    head=dict(type='TSCAEPixelHead', in_channels=192, patch_size=4),
    contrast_head=dict(
        type='TSCAETokenContrastHead',
        embed_dims=192,
        symmetric=False,  # recommended; the reference's is two-way (True)
        norm_cfg=dict(type='SyncBNAnyDevice')),
    global_head=dict(type='TSCAEGlobalConsistencyHead'),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

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

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3 * 64 / 256, betas=(0.9, 0.95),
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
max_epochs = 3
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
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
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
