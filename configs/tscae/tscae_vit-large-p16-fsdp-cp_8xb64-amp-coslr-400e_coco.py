# TSCAE reference, ViT-L/16, FSDP with activation checkpointing per encoder
# block (the encoder's stored activations drop to one block input each, for
# about a third more encoder compute; docs/scaling.md):
#   bash tools/dist_train.sh CONFIG 8
_base_ = './tscae_vit-large-p16-fsdp_8xb64-amp-coslr-400e_coco.py'
model = dict(backbone=dict(with_cp=True))
