# TSCAE with a ViT-S/16 encoder (384 wide, 12 layers, 6 heads; mmpretrain's
# 'deit-small', not its 768-wide 'small').
_base_ = './tscae_vit-base-p16.py'
model = dict(
    backbone=dict(arch='deit-small'),
    neck=dict(in_channels=384, embed_dims=384, num_heads=6),
    head=dict(in_channels=384),
    contrast_head=dict(embed_dims=384))
