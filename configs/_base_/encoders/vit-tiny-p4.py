# The CPU demo's encoder (configs/tscae/tscae_vit-tiny-p4_demo.py): 192
# wide, 6 layers, 3 heads, patch 4, 32 px images.
# One encoder size for the private-data templates (configs/benchmarks/custom/):
# a template names this file first in its _base_ and derives the backbone,
# the feature pyramid, the neck's and heads' widths, the padding and the
# crop sizes from `vit_encoder`, so that choosing another size is choosing
# another file of this folder. The encoder must be the one pre-trained
# (same arch and patch size); img_size only sets the position-embedding grid
# (a checkpoint's grid is resized to it when the weights load).
vit_encoder = dict(
    arch=dict(
        embed_dims=192, num_layers=6, num_heads=3, feedforward_channels=768),
    embed_dims=192,
    img_size=32,  # classification crop; detection pads to pad_size_divisor
    patch_size=4,
    out_indices=(1, 2, 4, 5),  # blocks 2, 3, 5, 6 feed the pyramid
    pyramid_scales=(1, 0.5, 0.25, 0.125),  # patch 4 -> strides 4 ... 32
    pad_size_divisor=8,
    seg_crop_size=(64, 64),
)
