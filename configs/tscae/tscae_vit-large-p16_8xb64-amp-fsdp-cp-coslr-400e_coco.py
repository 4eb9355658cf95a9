# TSCAE reference, ViT-L/16, as
# tscae_vit-large-p16_8xb64-amp-coslr-400e_coco.py trained with FSDP and
# activation checkpointing per encoder block (the encoder's stored
# activations drop to one block input each, for about a third more encoder
# compute; configs/_base_/fsdp.py, docs/scaling.md):
#   bash tools/dist_train.sh CONFIG 8
_base_ = [
    './tscae_vit-large-p16_8xb64-amp-coslr-400e_coco.py',
    '../_base_/fsdp.py',
]
runner_type = 'ReliableFlexibleRunner'
model = dict(backbone=dict(with_cp=True))
