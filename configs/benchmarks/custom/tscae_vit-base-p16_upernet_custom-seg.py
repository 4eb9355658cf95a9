# Semantic segmentation on your own data set of images and PNG label masks
# with a TSCAE-pre-trained ViT in UperNet (the VOC12-aug config's model,
# optimiser with layer-wise lr decay 0.65 and 40k-iteration schedule), mIoU
# on val:
#   <data_root>/images/train/<name>.jpg   <data_root>/masks/train/<name>.png
#   <data_root>/images/val/<name>.jpg     <data_root>/masks/val/<name>.png
# A mask pixel holds its class index (0 .. len(classes) - 1, in the order of
# `classes`), 255 where it should be ignored; single-channel or palette PNG.
#
# Copy this file anywhere (your own repository) and train it with our
# tools/train.py or MMSegmentation's own:
#   export TSCAE_MM_CONFIGS=$(python -m tscae_mm.utils.config_scope)
#   TB=$(python -c 'import mmseg as m; print(m.__path__[0])')
#   python $TB/.mim/tools/train.py my_config.py
# The _base_ paths read TSCAE_MM_CONFIGS (the configs folder of tscae_mm);
# unset, they fall back to ../.., which only works for this file where it is
# shipped. Or write that folder in place of {{$TSCAE_MM_CONFIGS:../..}}.
#
# EDIT in your copy (nothing else needs to change):
#  1. the encoder size: the first _base_ file, _base_/encoders/
#     vit-{small,base,large}-p16.py, or vit-tiny-p4.py (the CPU demo's);
#     the backbone, pyramid, head widths and crop size follow from it;
#  2. data_root;
#  3. classes (index 0 first, usually 'background'); the data set checks the
#     masks' values against them and names the values it found;
#  4. palette: one [R, G, B] per class to draw predictions ([]: random);
#  5. img_suffix / seg_map_suffix if your files end otherwise;
#  6. encoder_checkpoint (a checkpoint from tools/train.py, read with
#     encoder_prefix='backbone.'; one from tools/extract_backbone.py with
#     encoder_prefix=None);
#  7. if you like, image_scale or the pipelines, max_iters (validation,
#     checkpoints and the lr schedule follow it).
_base_ = [
    '{{$TSCAE_MM_CONFIGS:../..}}/_base_/encoders/vit-base-p16.py',
    '{{$TSCAE_MM_CONFIGS:../..}}/benchmarks/mmseg/'
    'tscae_vit-base-p16_upernet_4xb4-40k_voc12aug-512x512.py',
]
data_root = 'data/my_segmentation'
classes = ('background', 'cat', 'dog')
palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
img_suffix = '.jpg'
seg_map_suffix = '.png'
# None stops the run at initialisation, naming the key to set (or give it
# on the command line: --cfg-options model.backbone.init_cfg.checkpoint=CKPT)
encoder_checkpoint = None
encoder_prefix = 'backbone.'

crop_size = _base_.vit_encoder.seg_crop_size
image_scale = (2048, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
max_iters = 40000

# Below: derived from the choices above.
embed_dims = _base_.vit_encoder.embed_dims
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='TSCAEViT',
        arch=_base_.vit_encoder.arch,
        img_size=crop_size,
        patch_size=_base_.vit_encoder.patch_size,
        drop_path_rate=0.1,
        out_indices=_base_.vit_encoder.out_indices,
        out_type='featmap',
        final_norm=True,
        feature_pyramid=dict(
            type='ViTFeaturePyramid',
            embed_dims=embed_dims,
            scales=_base_.vit_encoder.pyramid_scales,
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=encoder_checkpoint,
            prefix=encoder_prefix)),
    decode_head=dict(
        in_channels=[embed_dims] * 4,
        channels=embed_dims,
        num_classes=len(classes)),
    auxiliary_head=dict(in_channels=embed_dims, num_classes=len(classes)),
    test_cfg=dict(
        mode='slide',
        crop_size=crop_size,
        stride=tuple(size * 2 // 3 for size in crop_size)))

# CheckedSegDataset: mmseg's BaseSegDataset that checks the masks' values
# against `classes` (some masks when built, every sample when loaded)
my_dataset = dict(
    type='CheckedSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix=img_suffix,
    seg_map_suffix=seg_map_suffix,
    reduce_zero_label=False)
train_dataloader = dict(
    dataset=dict(
        my_dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        my_dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/val', seg_map_path='masks/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=max_iters, val_interval=max(1, max_iters // 10))
warmup_iters = max(1, min(1500, max_iters // 10))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=warmup_iters,
        end=max(max_iters, warmup_iters + 1),
        by_epoch=False)
]
default_hooks = dict(
    checkpoint=dict(interval=max(1, max_iters // 10)))
