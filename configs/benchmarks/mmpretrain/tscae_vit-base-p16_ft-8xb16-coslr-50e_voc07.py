# VOC2007 multi-label classification: fine-tune a TSCAE-pre-trained ViT-B/16
# on VOC2007 trainval, evaluate on VOC2007 test (mAP, per-class and overall
# precision / recall / F1). MAE fine-tuning recipe (the TSCAE reference's):
# layer-wise lr decay 0.75, drop path 0.1, global average pooling, RandAugment,
# random erasing 0.25; no label smoothing or mixup (multi-label targets).
#   python tools/train.py configs/benchmarks/mmpretrain/<this file>
#   bash tools/dist_train.sh configs/benchmarks/mmpretrain/<this file> 8
# Pre-trained weights: set model.backbone.init_cfg.checkpoint (while it is
# None the run stops at initialisation, naming that key); in a child config
#   model = dict(backbone=dict(init_cfg=dict(checkpoint=CKPT)))
# or on the command line
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# prefix='backbone.' reads a TSCAE / MAE checkpoint written by tools/train.py;
# for an encoder written by tools/extract_backbone.py also set
# model.backbone.init_cfg.prefix=None.
# Data: `data_root` below (a VOCdevkit VOC2007 folder); from a child config
# set data_root in train_dataloader.dataset, val_dataloader.dataset and
# test_dataloader.dataset.
# Model size: ViT-B/16 (768 wide, 12 layers, 12 heads); for ViT-S/16 use
# arch='deit-small' and in_channels=384, for ViT-L/16 arch='large', 1024.
data_root = 'data/VOCdevkit/VOC2007'

_base_ = [
    'mmpretrain::_base_/datasets/voc_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
# MMEngine's Runner with tscae_mm's checks (docs/reliability.md), also under
# the toolboxes' own tools/train.py: a `load_from` (or --resume) checkpoint
# whose weights do not fit this model, e.g. a pre-training checkpoint (those
# go in model.backbone.init_cfg), is refused naming the keys, as a wrong
# init_cfg checkpoint is; a truncated one names the newest intact one.
runner_type = 'ReliableRunner'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='TSCAEViT',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,  # MAE recipe: norm after pooling (a new `ln2`)
        init_cfg=dict(
            type='Pretrained',
            checkpoint=None,  # set it: see the header
            prefix='backbone.')),
    neck=None,
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=20,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]))

bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(
            pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_difficult')),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW, lr 5e-4 per 256 images, layer-wise lr decay; no weight decay for
# norms, biases, position embedding and cls token.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=5e-4 * 128 / 256, betas=(0.9, 0.999),
        weight_decay=0.05),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0)
        }))
max_epochs = 50
warmup_epochs = 5
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
# 8 GPUs x 16 images; --auto-scale-lr rescales lr for another total batch.
auto_scale_lr = dict(base_batch_size=128)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2),
    logger=dict(type='LoggerHook', interval=20))
randomness = dict(seed=0)
