# ViT-S/16: 384 wide, 12 layers, 6 heads (configs/tscae/tscae_vit-small-p16_*).
# One encoder size for the private-data templates (configs/benchmarks/custom/):
# a template names this file first in its _base_ and derives the backbone,
# the feature pyramid, the neck's and heads' widths, the padding and the
# crop sizes from `vit_encoder`, so that choosing another size is choosing
# another file of this folder. The encoder must be the one pre-trained
# (same arch and patch size); img_size only sets the position-embedding grid
# (a checkpoint's grid is resized to it when the weights load).
vit_encoder = dict(
    arch='deit-small',
    embed_dims=384,
    img_size=224,  # classification crop; detection pads to pad_size_divisor
    patch_size=16,
    out_indices=(3, 5, 7, 11),  # blocks 4, 6, 8, 12 feed the pyramid
    pyramid_scales=(4, 2, 1, 0.5),  # patch 16 -> strides 4, 8, 16, 32
    pad_size_divisor=32,
    seg_crop_size=(512, 512),
)
