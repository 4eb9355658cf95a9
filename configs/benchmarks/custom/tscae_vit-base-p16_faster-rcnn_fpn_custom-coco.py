# Detection on your own data set in COCO json format with a TSCAE-pre-trained
# ViT in Faster R-CNN + FPN (the VOC0712 config's model and optimiser with
# layer-wise lr decay 0.7), COCO box mAP on val:
#   <data_root>/annotations/train.json, <data_root>/annotations/val.json
#   <data_root>/images/train/*.jpg,     <data_root>/images/val/*.jpg
# (the json "file_name" entries are relative to the images folder).
#
# Copy this file anywhere (your own repository) and train it with our
# tools/train.py or MMDetection's own:
#   export TSCAE_MM_CONFIGS=$(python -m tscae_mm.utils.config_scope)
#   TB=$(python -c 'import mmdet as m; print(m.__path__[0])')
#   python $TB/.mim/tools/train.py my_config.py
# The _base_ paths read TSCAE_MM_CONFIGS (the configs folder of tscae_mm);
# unset, they fall back to ../.., which only works for this file where it is
# shipped. Or write that folder in place of {{$TSCAE_MM_CONFIGS:../..}}.
#
# EDIT in your copy (nothing else needs to change):
#  1. the encoder size: the first _base_ file, _base_/encoders/
#     vit-{small,base,large}-p16.py, or vit-tiny-p4.py (the CPU demo's);
#     the backbone, pyramid, neck and padding follow from it;
#  2. data_root;
#  3. classes: the json's category names to train on, in the json's order
#     (mmdet numbers them so); the data set refuses others and lists the
#     json's categories;
#  4. encoder_checkpoint (a checkpoint from tools/train.py, read with
#     encoder_prefix='backbone.'; one from tools/extract_backbone.py with
#     encoder_prefix=None);
#  5. if you like, image_scale or the pipelines, max_epochs (the lr steps
#     down at 2/3 and 11/12 of it).
_base_ = [
    '{{$TSCAE_MM_CONFIGS:../..}}/_base_/encoders/vit-base-p16.py',
    '{{$TSCAE_MM_CONFIGS:../..}}/benchmarks/mmdet/'
    'tscae_vit-base-p16_faster-rcnn_fpn_4x3e_voc0712.py',
]
data_root = 'data/my_coco'
classes = ('cat', 'dog')
# None stops the run at initialisation, naming the key to set (or give it
# on the command line: --cfg-options model.backbone.init_cfg.checkpoint=CKPT)
encoder_checkpoint = None
encoder_prefix = 'backbone.'

image_scale = (1000, 600)
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
max_epochs = 12
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[max_epochs * 2 // 3, max_epochs * 11 // 12],
        gamma=0.1)
]

# Below: derived from the choices above.
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=_base_.vit_encoder.pad_size_divisor),
    backbone=dict(
        _delete_=True,
        type='TSCAEViT',
        arch=_base_.vit_encoder.arch,
        img_size=_base_.vit_encoder.img_size,
        patch_size=_base_.vit_encoder.patch_size,
        drop_path_rate=0.1,
        out_indices=_base_.vit_encoder.out_indices,
        out_type='featmap',
        final_norm=True,
        feature_pyramid=dict(
            type='ViTFeaturePyramid',
            embed_dims=_base_.vit_encoder.embed_dims,
            scales=_base_.vit_encoder.pyramid_scales,
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=encoder_checkpoint,
            prefix=encoder_prefix)),
    neck=dict(in_channels=[_base_.vit_encoder.embed_dims] * 4),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))))

# CheckedCocoDataset: mmdet's CocoDataset that checks `classes` against the
# json's categories when it is built
metainfo = dict(classes=classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=f'{data_root}/annotations/val.json',
    metric='bbox')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=max_epochs)
