# Study: mmpretrain's MAE (MAEViT + MAEPretrainDecoder + MAEPretrainHead) with
# the study's encoder (192 wide, 6 layers, 3 heads, 4 px patches, 32 px), mask
# ratio 0.75, normalised pixel targets (MAE's recipe) and a decoder of TSCAE's
# teacher-decoder size (2 layers x 192, 3 heads) instead of MAE's 512-wide
# 8-layer one, which would dwarf this encoder. Data, crop, flip, optimiser,
# schedule and seed are the TSCAE study config's.
_base_ = [
    './tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
    '../_base_/models/mae_vit-tiny-d6-p4.py'
]

model = {{_base_.mae_vit_tiny_d6_p4}}

# The same augmentation; MAE draws its masks inside the model.
train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
