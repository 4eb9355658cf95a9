# The study's set-up (docs/results.md), which every study pre-training config
# inherits: TSCAE in its reference form (two-way token contrast, the three
# losses at weight 1) with the study encoder (192 wide, 6 layers, 3 heads,
# 4 px patches on 32 px images; teacher decoder 2 layers x 192), pre-trained on
# 5,000 CIFAR-10 training images (500 per class, labels unused) for 6 epochs
# on CPU. The MAE configs replace the model and the pipeline and keep the rest:
# data, crop, optimiser, schedule and seed are the same for every method.
# Written out here, not inherited from the demo config, so that editing the
# demo leaves the study's runs as they were.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    # the encoder width / depth and the pixel statistics that the study's
    # TSCAE, MAE and fine-tuning configs share
    '../../../../configs/_base_/models/vit-tiny-d6-p4_parts.py',
]
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
runner_type = 'ReliableRunner'

model = dict(
    type='TSCAE',
    data_preprocessor={{_base_.cifar10_selfsup_preprocessor}},
    backbone=dict(
        type='TSCAEViT',
        arch={{_base_.vit_tiny_d6_arch}},
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
        norm_cfg=dict(type='SyncBNAnyDevice'),
        # the reference's two-way token contrast; the recommended configs
        # switch to the one-way form
        symmetric=True),
    global_head=dict(type='TSCAEGlobalConsistencyHead'),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

# The image lists are written by
#   python tools/run_study.py --stages prepare \
#       --archive ../shared/data/cifar10-jpg.tar.gz
data_root = 'data/cifar10'
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
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SeededDataset',
        dataset=dict(
            type='CustomDataset',
            data_root=data_root,
            ann_file='meta/pretrain_5k.txt',
            with_label=False,
            pipeline=train_pipeline)))

# AdamW (0.9, 0.95), weight decay 0.05 (none on norms, biases, position
# embeddings and the learned tokens) at lr 1e-3 for batch 64, the same for
# every method; 1 warm-up epoch, then cosine to 0.
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
auto_scale_lr = dict(base_batch_size=64)

randomness = dict(seed=0, diff_rank_seed=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    # every epoch's encoder is kept: the study plots k-NN accuracy per epoch
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=-1))
custom_hooks = [
    dict(type='ReproducibleRandomnessHook'),
    dict(type='NonFiniteLossHook', action='raise'),
    dict(type='SkippedImagesHook'),
    dict(type='GlobalBatchLossHook'),
    # collapse statistics of 64 fixed training images every 100 iterations,
    # under collapse/* in the log and the visualizer
    dict(type='TSCAECollapseMonitorHook', interval=100, num_images=64),
]
