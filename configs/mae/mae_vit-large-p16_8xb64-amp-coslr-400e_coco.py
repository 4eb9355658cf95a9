# MAE baseline with ViT-L/16 (1024 wide, 24 layers, 16 heads), otherwise as
# mae_vit-base-p16_8xb64-amp-coslr-400e_coco.py.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/coco-unlabeled_mae.py',
    '../_base_/schedules/tscae_adamw-coslr-400e.py',
    '../_base_/tscae_runtime.py',
]
model = dict(backbone=dict(arch='l'), neck=dict(embed_dim=1024))
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 512 / 256))
