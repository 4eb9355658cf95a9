# Pascal VOC0712 detection with a TSCAE-pre-trained ViT-B/16 backbone:
# MMDetection's Faster R-CNN + FPN VOC config (train on VOC2007 + VOC2012
# trainval, test on VOC2007 test, VOC mAP at IoU 0.5, 11 points) with the
# ResNet-50 replaced by TSCAEViT. Blocks 4, 6, 8 and 12 (out_indices 3, 5, 7,
# 11) are re-scaled to strides 4, 8, 16, 32 by ViTFeaturePyramid (scales 4, 2,
# 1, 0.5 for patch 16), as in ViTDet. AdamW with layer-wise lr decay 0.7,
# drop path 0.1 (ViTDet's fine-tuning recipe); the position embedding is
# interpolated at every forward to the padded input's patch grid.
#   python tools/train.py configs/benchmarks/mmdet/<this file>
#   bash tools/dist_train.sh configs/benchmarks/mmdet/<this file> 8
# or from an MMDetection checkout (tscae_mm installed):
#   python tools/train.py <path to this file>
# Pre-trained weights: set model.backbone.init_cfg.checkpoint (while it is
# None the run stops at initialisation, naming that key); in a child config
#   model = dict(backbone=dict(init_cfg=dict(checkpoint=CKPT)))
# or on the command line
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# prefix='backbone.' reads a TSCAE / MAE checkpoint written by tools/train.py;
# for an encoder written by tools/extract_backbone.py also set
# model.backbone.init_cfg.prefix=None.
# The data are read from data/VOCdevkit/ (the base's path: link your
# VOCdevkit, holding VOC2007/ and VOC2012/, there).
# Model size: ViT-B/16; for another size
# change arch, feature_pyramid.embed_dims and neck.in_channels together.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
# MMEngine's Runner with tscae_mm's checks (docs/reliability.md), also under
# the toolboxes' own tools/train.py: a `load_from` (or --resume) checkpoint
# whose weights do not fit this model, e.g. a pre-training checkpoint (those
# go in model.backbone.init_cfg), is refused naming the keys, as a wrong
# init_cfg checkpoint is; a truncated one names the newest intact one.
runner_type = 'ReliableRunner'

embed_dims = 768
model = dict(
    backbone=dict(
        _delete_=True,
        type='TSCAEViT',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=True,
        feature_pyramid=dict(
            type='ViTFeaturePyramid',
            embed_dims=embed_dims,
            scales=(4, 2, 1, 0.5),
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=None,  # set it: see the header
            prefix='backbone.')),
    neck=dict(in_channels=[embed_dims] * 4))

# The base's schedule is kept: 4 epochs over the 3x repeated VOC0712 trainval.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=4,
        by_epoch=True,
        milestones=[3],
        gamma=0.1)
]
# 8 GPUs x 2 images; --auto-scale-lr rescales lr for another total batch.
auto_scale_lr = dict(base_batch_size=16)
