# CPU check of the VOC0712 detection config on the mini VOCdevkit: the demo's
# TSCAE encoder (tscae_vit-tiny-p4_demo.py: 192 wide, 6 layers, patch 4) in
# Faster R-CNN + FPN, 96x72 images (padded to multiples of 8), 40 iterations
# over VOC2007 + VOC2012 trainval, then VOC mAP on the VOC2007 test images.
# Runs from this repository's tools/train.py and from MMDetection's own
# tools/train.py (with tscae_mm installed).
#   python tools/make_mini_voc.py data/VOCdevkit \
#       --cifar-python cifar-10-batches-py   # docs/downstream.md: the data
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py \
#       --work-dir work_dirs/demo
#   python tools/train.py configs/benchmarks/mmdet/<this file> \
#       --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/demo/epoch_4.pth
# The pre-trained encoder is given on the command line (the config's
# model.backbone.init_cfg.checkpoint is None, and the run stops at
# initialisation, naming that key, until it is set).
# Blocks 2, 3, 5 and 6 are kept; patch 4 gives them stride 4, so the pyramid
# scales are (1, 0.5, 0.25, 0.125) for the strides 4, 8, 16, 32 that FPN and
# the anchors expect. Everything else is the ViT-B/16 config's.
_base_ = './tscae_vit-base-p16_faster-rcnn_fpn_4x3e_voc0712.py'

embed_dims = 192
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=32,
        patch_size=4,
        out_indices=(1, 2, 4, 5),
        feature_pyramid=dict(
            embed_dims=embed_dims, scales=(1, 0.5, 0.25, 0.125))),
    data_preprocessor=dict(pad_size_divisor=8),
    neck=dict(in_channels=[embed_dims] * 4))

image_scale = (96, 72)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
voc_trainval = dict(
    type='VOCDataset',
    data_root='data/VOCdevkit/',
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        times=1,
        dataset=dict(datasets=[
            dict(
                voc_trainval,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/')),
            dict(
                voc_trainval,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/')),
        ])))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 40
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=5)
]
optim_wrapper = dict(optimizer=dict(lr=2e-4))
auto_scale_lr = dict(base_batch_size=2)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters),
    logger=dict(interval=1))
log_processor = dict(by_epoch=False)
