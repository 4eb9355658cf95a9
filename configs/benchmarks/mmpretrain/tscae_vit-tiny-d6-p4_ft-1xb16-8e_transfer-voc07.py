# Transfer benchmark, multi-label classification (docs/results.md,
# "Transfer"): the study's encoder (ViT 192 wide, 6 layers, patch 4;
# pre-trained on CIFAR-10 by tools/run_study.py) fine-tuned on the transfer
# VOCdevkit's VOC2007 trainval (2,000 images) and tested on its VOC2007 test
# (500 images): VOC mAP, the toolbox's own metric.
# The 96x72 images are read at 64x48 (the pasted objects, up-scaled 32 px
# CIFAR-10 photos, are then 24-37 px, about the encoder's pre-training
# scale): random resized 48 px crops for training, the centre 48x48 for
# testing. Everything else is the mini-VOC config's and so the VOC07
# ViT-B/16 config's (layer-wise lr decay 0.75, drop path 0.1, average
# pooling, AdamW, warm-up then cosine).
#   python tools/make_mini_voc.py data/transfer-voc/VOCdevkit \
#       --images data/cifar10/test --trainval 2000 --test 500
#   python tools/train.py configs/benchmarks/mmpretrain/<this file> \
#       --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/study/mae/epoch_6.pth
# tools/run_transfer.py runs it for every encoder and seed (a random-init
# run sets model.backbone.init_cfg=None).
_base_ = './tscae_vit-tiny-p4_ft-1xb8-5e_mini-voc07.py'

crop_size = 48
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
data_root = 'data/transfer-voc/VOCdevkit/VOC2007'
train_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 8
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
        eta_min=1e-6,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    logger=dict(interval=50))
