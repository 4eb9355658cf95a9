# MAE baseline with ViT-S/16 (384 wide, 12 layers, 6 heads: mmpretrain's
# 'deit-small'), otherwise as the ViT-B/16 config.
_base_ = './mae_vit-base-p16_8xb64-amp-coslr-400e_tiny-imagenet.py'
model = dict(backbone=dict(arch='deit-small'), neck=dict(embed_dim=384))
