# TSCAE recommended, ViT-L/16, FSDP with activation checkpointing per encoder
# block (docs/scaling.md):
#   bash tools/dist_train.sh CONFIG 8
_base_ = './tscae_vit-large-p16-recommended-fsdp_8xb64-amp-coslr-400e_coco.py'
model = dict(backbone=dict(with_cp=True))
