# Study, image quality: MAE pre-trained on the degraded images of
# tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py (3x down, then up).
_base_ = './mae_vit-tiny-d6-p4_6e_cifar10-5k.py'

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
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
