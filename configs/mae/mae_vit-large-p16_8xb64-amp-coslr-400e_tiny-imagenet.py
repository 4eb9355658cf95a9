# MAE baseline with ViT-L/16 (1024 wide, 24 layers, 16 heads), otherwise as
# the ViT-B/16 config.
_base_ = './mae_vit-base-p16_8xb64-amp-coslr-400e_tiny-imagenet.py'
model = dict(backbone=dict(arch='l'), neck=dict(embed_dim=1024))
