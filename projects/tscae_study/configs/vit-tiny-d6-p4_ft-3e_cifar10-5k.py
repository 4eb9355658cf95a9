# Study (docs/results.md): short end-to-end fine-tuning of the study's encoder
# (192 wide, 6 layers, 3 heads, 4 px patches, 32 px) on the 5,000 labelled
# CIFAR-10 training images of the pre-training set, 3 epochs; top-1 on the
# 10,000 test images. The MAE recipe at small scale: global average pooling,
# layer-wise lr decay 0.75, drop path 0.1, label smoothing 0.1, AdamW.
# Without init_cfg the encoder starts from random weights (the floor); the
# study runner loads each pre-trained encoder with
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=work_dirs/study/tscae/epoch_6.pth \
#       model.backbone.init_cfg.prefix=backbone.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../../../configs/_base_/models/vit-tiny-d6-p4_parts.py'
]
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
runner_type = 'ReliableRunner'

data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='TSCAEViT',
        arch={{_base_.vit_tiny_d6_arch}},
        img_size=32,
        patch_size=4,
        out_type='avg_featmap',
        drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=192,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]))

data_root = 'data/cifar10'
train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='raise'),
    dict(type='PackInputs')
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
            ann_file='meta/train_5k.txt',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=250,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='meta/test.txt',
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }))
max_epochs = 3
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=0.5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 0.5,
        eta_min=0.,
        by_epoch=True,
        begin=0.5,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
