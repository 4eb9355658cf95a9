# Pascal VOC 2012 (+ SBD "aug" masks) semantic segmentation with a
# TSCAE-pre-trained ViT-B/16: MMSegmentation's UperNet VOC12-aug config
# (512x512 crops, 40k iterations, mIoU on VOC2012 val) with the ResNet-50
# replaced by TSCAEViT. Blocks 4, 6, 8 and 12 are re-scaled to strides 4, 8,
# 16, 32 by ViTFeaturePyramid, as MMSegmentation's MAE / BEiT UperNet configs
# do; AdamW with layer-wise lr decay 0.65, drop path 0.1 (their recipe). The
# position embedding is resized from the checkpoint's grid to 32x32 when the
# weights load and interpolated at forward time for other (non-square) inputs.
#   python tools/train.py configs/benchmarks/mmseg/<this file>
#   bash tools/dist_train.sh configs/benchmarks/mmseg/<this file> 4
# or from an MMSegmentation checkout (tscae_mm installed):
#   python tools/train.py <path to this file>
# Pre-trained weights: set model.backbone.init_cfg.checkpoint (while it is
# None the run stops at initialisation, naming that key); in a child config
#   model = dict(backbone=dict(init_cfg=dict(checkpoint=CKPT)))
# or on the command line
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# prefix='backbone.' reads a TSCAE / MAE checkpoint written by tools/train.py;
# for an encoder written by tools/extract_backbone.py also set
# model.backbone.init_cfg.prefix=None.
# The data
# are read from data/VOCdevkit/VOC2012 (the base's path: link your VOCdevkit
# there) with SegmentationClass and SegmentationClassAug, as MMSegmentation's
# VOC-aug preparation makes them.
# Model size: ViT-B/16; for another size change arch, embed_dims and the
# heads' in_channels together.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
# MMEngine's Runner with tscae_mm's checks (docs/reliability.md), also under
# the toolboxes' own tools/train.py: a `load_from` (or --resume) checkpoint
# whose weights do not fit this model, e.g. a pre-training checkpoint (those
# go in model.backbone.init_cfg), is refused naming the keys, as a wrong
# init_cfg checkpoint is; a truncated one names the newest intact one.
runner_type = 'ReliableRunner'

embed_dims = 768
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='TSCAEViT',
        arch='base',
        img_size=crop_size,
        patch_size=16,
        drop_path_rate=0.1,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=True,
        feature_pyramid=dict(
            type='ViTFeaturePyramid',
            embed_dims=embed_dims,
            scales=(4, 2, 1, 0.5),
            norm_cfg=norm_cfg),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=None,  # set it: see the header
            prefix='backbone.')),
    decode_head=dict(
        in_channels=[embed_dims] * 4, channels=embed_dims, num_classes=21),
    auxiliary_head=dict(in_channels=embed_dims, num_classes=21),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=40000,
        by_epoch=False)
]
