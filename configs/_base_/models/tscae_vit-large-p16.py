# TSCAE with a ViT-L/16 encoder (1024 wide, 24 layers, 16 heads).
_base_ = './tscae_vit-base-p16.py'
model = dict(
    backbone=dict(arch='l'),
    neck=dict(in_channels=1024, embed_dims=1024, num_heads=16),
    head=dict(in_channels=1024),
    contrast_head=dict(embed_dims=1024))
