# MAE baseline: mmpretrain's own MAE (ViT-B/16, 224 px) on the same COCO
# images, crop, batch (8 GPUs x 64) and 400-epoch schedule as the TSCAE
# configs. The pipeline has no complementary-mask transform (MAE masks inside
# its encoder); the optimiser keeps MAE's published base lr (1.5e-4 per 256).
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/coco-unlabeled_mae.py',
    '../_base_/schedules/tscae_adamw-coslr-400e.py',
    '../_base_/tscae_runtime.py',
]
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 512 / 256))
