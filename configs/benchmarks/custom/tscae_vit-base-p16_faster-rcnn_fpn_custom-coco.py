# Detection on your own data set in COCO json format with a TSCAE-pre-trained
# ViT-B/16 in Faster R-CNN + FPN (the VOC0712 config's model and optimiser),
# COCO box mAP on val:
#   <data_root>/annotations/train.json, <data_root>/annotations/val.json
#   <data_root>/images/train/*.jpg,     <data_root>/images/val/*.jpg
# (the json "file_name" entries are relative to the images folder; the
# category names must be the ones listed in `classes`).
#   python tools/train.py configs/benchmarks/custom/<this file>
# EDIT in a copy of this file: 1. data_root; 2. classes (your category names,
# in any order); 3. the checkpoint, below; 4. if you like, max_epochs (and
# the param_scheduler's end with it) and the image scale of the pipelines.
data_root = 'data/my_coco/'
classes = ('cat', 'dog')

_base_ = '../mmdet/tscae_vit-base-p16_faster-rcnn_fpn_4x3e_voc0712.py'

# The pre-trained checkpoint: model.backbone.init_cfg.checkpoint, here or with
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# (while it is None the run stops at initialisation, naming that key). The
# base's prefix='backbone.' reads a checkpoint from tools/train.py; set
# model.backbone.init_cfg.prefix=None for one from tools/extract_backbone.py.
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=None)),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))))

metainfo = dict(classes=classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/val.json',
    metric='bbox')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
