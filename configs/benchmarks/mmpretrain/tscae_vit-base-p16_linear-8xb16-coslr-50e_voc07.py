# VOC2007 multi-label linear probe: a frozen TSCAE-pre-trained ViT-B/16 (cls
# token after the final norm), a parameter-free BatchNorm and a linear
# multi-label classifier, as MAE's linear probe; trained on VOC2007 trainval,
# evaluated on VOC2007 test (mAP, precision / recall / F1).
#   python tools/train.py configs/benchmarks/mmpretrain/<this file>
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
# Model size: ViT-B/16; for
# another size change arch, frozen_stages (= its number of layers),
# input_features and in_channels together.
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
        frozen_stages=12,  # all blocks, the stem and the final norm
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=None,  # set it: see the header
            prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=768),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=20,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

train_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# SGD, lr 0.1 per 256 images, no weight decay (only the head is trained).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.1 * 128 / 256, momentum=0.9, weight_decay=0.0))
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
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2),
    logger=dict(type='LoggerHook', interval=20))
randomness = dict(seed=0)
