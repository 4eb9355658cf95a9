# MAE baseline with ViT-S/16 (384 wide, 12 layers, 6 heads: mmpretrain's
# 'deit-small'), otherwise as
# mae_vit-base-p16_8xb64-amp-coslr-400e_coco.py.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/coco-unlabeled_mae.py',
    '../_base_/schedules/tscae_adamw-coslr-400e.py',
    '../_base_/tscae_runtime.py',
]
model = dict(backbone=dict(arch='deit-small'), neck=dict(embed_dim=384))
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 512 / 256))
