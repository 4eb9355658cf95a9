# TSCAE, ViT-S/16 at 224 px, 8 GPUs x 64 images, 400 epochs, on tiny-imagenet.
_base_ = [
    '../_base_/models/tscae_vit-small-p16.py',
    '../_base_/datasets/tiny-imagenet_tscae.py',
    '../_base_/schedules/tscae_adamw-coslr-400e.py',
    '../_base_/tscae_runtime.py',
]
