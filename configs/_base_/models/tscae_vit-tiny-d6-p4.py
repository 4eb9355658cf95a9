# TSCAE with the demo / study encoder: ViT-Tiny width (192, 3 heads), 6 layers
# instead of 12, 4 px patches on 32 px images (8 x 8 patches); teacher decoder
# 2 layers at the encoder's width. The reference's losses; the demo switches
# on the recommended one-way contrast.
_base_ = './vit-tiny-d6-p4_parts.py'

model = dict(
    type='TSCAE',
    data_preprocessor={{_base_.cifar10_selfsup_preprocessor}},
    backbone=dict(
        type='TSCAEViT',
        arch={{_base_.vit_tiny_d6_arch}},
        img_size=32,
        patch_size=4,
        masked_pretraining=True,
        token_drop=False),
    neck=dict(
        type='TSCAETeacherDecoder',
        patch_resolution=8,
        in_channels=192,
        embed_dims=192,
        num_layers=2,
        num_heads=3),
    head=dict(type='TSCAEPixelHead', in_channels=192, patch_size=4),
    contrast_head=dict(
        type='TSCAETokenContrastHead',
        embed_dims=192,
        norm_cfg=dict(type='SyncBNAnyDevice')),
    global_head=dict(type='TSCAEGlobalConsistencyHead'),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
