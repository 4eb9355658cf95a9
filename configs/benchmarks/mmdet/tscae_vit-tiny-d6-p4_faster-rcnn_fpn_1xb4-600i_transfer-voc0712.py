# Transfer benchmark, detection (docs/results.md, "Transfer"): the study's
# encoder (ViT 192 wide, 6 layers, patch 4; pre-trained on CIFAR-10 by
# tools/run_study.py) in Faster R-CNN + FPN, fine-tuned on the transfer
# VOCdevkit's VOC2007 + VOC2012 trainval (4,000 images) and tested on its
# VOC2007 test (500 images): VOC mAP at IoU 0.5 (11 points), the toolbox's
# own metric.
# The 96x72 images are read at 64x48, so that the pasted objects (36-56 px,
# up-scaled 32 px CIFAR-10 photos) are 24-37 px, about the 32 px scale the
# encoder was pre-trained at. The images hold at most 3 objects, so the
# R-CNN stage samples 128 RoIs per image from 300 proposals (the base: 512
# from 1,000, sized for COCO-scale images). Everything else is the mini-VOC
# config's and so the VOC0712 ViT-B/16 config's (layer-wise lr decay 0.7,
# the feature pyramid, AdamW, warm-up then a x0.1 step at three quarters).
#   python tools/make_mini_voc.py data/transfer-voc/VOCdevkit \
#       --images data/cifar10/test --trainval 2000 --test 500
#   python tools/train.py configs/benchmarks/mmdet/<this file> \
#       --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/study/mae/epoch_6.pth
# tools/run_transfer.py runs it for every encoder and seed (a random-init
# run sets model.backbone.init_cfg=None).
_base_ = './tscae_vit-tiny-p4_faster-rcnn_fpn_1xb2-40i_mini-voc0712.py'

model = dict(
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))))

data_root = 'data/transfer-voc/VOCdevkit/'
image_scale = (64, 48)
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
    data_root=data_root,
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
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
val_dataloader = dict(
    batch_size=8, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
        end=max_iters // 20),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[max_iters * 3 // 4],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    checkpoint=dict(interval=max_iters // 4, max_keep_ckpts=1),
    logger=dict(interval=50))
