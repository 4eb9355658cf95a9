# TSCAE, recommended configuration (README, "Which configuration"), ViT-S/16
# at 224 px, 8 GPUs x 64 images, 400 epochs, on tiny-imagenet: the
# reference config
# tscae_vit-small-p16_8xb64-amp-coslr-400e_tiny-imagenet.py with the
# switches of configs/_base_/tscae_recommended.py.
_base_ = [
    './tscae_vit-small-p16_8xb64-amp-coslr-400e_tiny-imagenet.py',
    '../_base_/tscae_recommended.py'
]
model = {{_base_.tscae_recommended}}
