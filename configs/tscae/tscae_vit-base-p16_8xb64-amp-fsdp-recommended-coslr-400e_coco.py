# TSCAE recommended, ViT-B/16, as
# tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py with the one-way token
# contrast (README, "Which configuration"), trained with FSDP
# (configs/_base_/fsdp.py; docs/scaling.md):
#   bash tools/dist_train.sh CONFIG 8
_base_ = [
    './tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py',
    '../_base_/fsdp.py',
]
runner_type = 'ReliableFlexibleRunner'
model = dict(contrast_head=dict(symmetric=False))
