# Study: mmpretrain's MAE (MAEViT + MAEPretrainDecoder + MAEPretrainHead) with
# the study's encoder (192 wide, 6 layers, 3 heads, 4 px patches, 32 px), mask
# ratio 0.75, normalised pixel targets (MAE's recipe) and a decoder of TSCAE's
# teacher-decoder size (2 layers x 192, 3 heads) instead of MAE's 512-wide
# 8-layer one, which would dwarf this encoder. Data, crop, flip, optimiser,
# schedule and seed are the study base's, as for every TSCAE study config.
_base_ = './_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'

# the study base's model is replaced; the encoder's parts come from
# configs/_base_/models/vit-tiny-d6-p4_parts.py
model = dict(
    _delete_=True,
    type='MAE',
    data_preprocessor={{_base_.cifar10_selfsup_preprocessor}},
    backbone=dict(
        type='MAEViT',
        arch={{_base_.vit_tiny_d6_arch}},
        img_size=32,
        patch_size=4,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=64,
        patch_size=4,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=192,
        decoder_depth=2,
        decoder_num_heads=3,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

# The same augmentation; MAE draws its masks inside the model.
train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
