# TSCAE reference, ViT-B/16, as
# tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py
# trained with FSDP (configs/_base_/fsdp.py; docs/scaling.md):
#   bash tools/dist_train.sh CONFIG 8
_base_ = [
    './tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py',
    '../_base_/fsdp.py',
]
runner_type = 'ReliableFlexibleRunner'
