# CPU check of the VOC12-aug segmentation config on the mini VOCdevkit: the
# demo's TSCAE encoder (tscae_vit-tiny-p4_demo.py: 192 wide, 6 layers, patch
# 4) in UperNet, 64x64 crops of the 96x72 images re-scaled by 0.75-1.5, 40
# iterations, then mIoU on the VOC2012 val images (whole 96x72 images, a
# non-square input). Runs from this repository's tools/train.py and from
# MMSegmentation's own tools/train.py (with tscae_mm installed).
#   python tools/make_mini_voc.py data/VOCdevkit \
#       --cifar-python cifar-10-batches-py   # docs/downstream.md: the data
#   python tools/train.py configs/tscae/tscae_vit-tiny-p4_demo.py \
#       --work-dir work_dirs/demo
#   python tools/train.py configs/benchmarks/mmseg/<this file> \
#       --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/demo/epoch_4.pth
# The pre-trained encoder is given on the command line (the config's
# model.backbone.init_cfg.checkpoint is None, and the run stops at
# initialisation, naming that key, until it is set).
# Blocks 2, 3, 5 and 6 are kept; patch 4: pyramid scales (1, 0.5, 0.25,
# 0.125) give strides 4, 8, 16, 32. Everything else is the ViT-B/16 config's.
_base_ = './tscae_vit-base-p16_upernet_4xb4-40k_voc12aug-512x512.py'

embed_dims = 192
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=crop_size,
        patch_size=4,
        out_indices=(1, 2, 4, 5),
        feature_pyramid=dict(
            embed_dims=embed_dims, scales=(1, 0.5, 0.25, 0.125))),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims),
    auxiliary_head=dict(in_channels=embed_dims, channels=64),
    test_cfg=dict(_delete_=True, mode='whole'))

image_scale = (96, 72)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
voc_root = 'data/VOCdevkit/VOC2012'
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(datasets=[
        dict(
            type='PascalVOCDataset',
            data_root=voc_root,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'),
            ann_file='ImageSets/Segmentation/train.txt',
            pipeline=train_pipeline),
        dict(
            type='PascalVOCDataset',
            data_root=voc_root,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
            ann_file='ImageSets/Segmentation/aug.txt',
            pipeline=train_pipeline),
    ]))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 40
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=5)
]
optim_wrapper = dict(optimizer=dict(lr=2e-4))
default_hooks = dict(
    checkpoint=dict(interval=max_iters), logger=dict(interval=1))
