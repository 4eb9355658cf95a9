# Pre-training images: the COCO train2017 images, without labels.
# Expected layout (OpenMMLab convention, paths relative to the working dir):
#   data/coco/train2017/*.jpg
dataset_type = 'CustomDataset'
data_root = 'data/coco/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='ComplementaryMaskGenerator',
        input_size=224,
        patch_size=16,
        mask_ratio=0.75),
    dict(type='PackInputs', algorithm_keys=['mask'])
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SeededDataset',
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix='train2017',
            with_label=False,
            pipeline=train_pipeline)))
