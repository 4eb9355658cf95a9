# CPU check of the VOC07 multi-label fine-tuning config on the mini VOCdevkit:
# the demo's TSCAE encoder (tscae_vit-tiny-p4_demo.py: 192 wide, 6 layers,
# patch 4), 64 px crops, five epochs, then VOC mAP and precision / recall / F1
# on the 16 VOC2007 test images.
#   python tools/make_mini_voc.py data/VOCdevkit \
#       --cifar-python cifar-10-batches-py   # docs/downstream.md: the data
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py \
#       --work-dir work_dirs/demo
#   python tools/train.py configs/benchmarks/mmpretrain/<this file> \
#       --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/demo/epoch_4.pth
# The pre-trained encoder is given on the command line (the config's
# model.backbone.init_cfg.checkpoint is None, and the run stops at
# initialisation, naming that key, until it is set).
# Everything else (model type, head, layer decay, metrics) is the ViT-B/16
# config's.
_base_ = './tscae_vit-base-p16_ft-8xb16-coslr-50e_voc07.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=32,
        patch_size=4),
    head=dict(in_channels=192))

crop_size = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=crop_size,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop_size, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_difficult')),
]
train_dataloader = dict(
    batch_size=8, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 5
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=1))
