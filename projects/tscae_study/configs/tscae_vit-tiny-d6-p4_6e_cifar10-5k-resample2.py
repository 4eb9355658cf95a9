# Study, image quality: TSCAE (reference mode) pre-trained on degraded images:
# every image is down-sampled 3x (32 -> 11 px, area) and up-sampled back
# (bicubic) before the crop, like the paper's 64 px Tiny-ImageNet images
# up-sampled to 224. Evaluated on the clean test images.
_base_ = './_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'

train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(type='ImageDegradation', kind='resample', severity=2),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='ComplementaryMaskGenerator',
        input_size=32,
        patch_size=4,
        mask_ratio=0.75),
    dict(type='PackInputs', algorithm_keys=['mask'])
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
