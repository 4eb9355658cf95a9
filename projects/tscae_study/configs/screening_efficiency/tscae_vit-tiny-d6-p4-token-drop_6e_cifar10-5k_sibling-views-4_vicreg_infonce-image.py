# Screening (issue 22): the two best single changes together: sibling-view
# targets with the variance / covariance term on the teacher outputs at V
# (best k-NN) and ConMIM's same-image InfoNCE token contrast (best linear
# probe of the sibling forms). Everything else is the sibling-views
# candidate, written out on the same base to stay within the study's 3
# levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views',
    contrast_head=dict(loss_type='infonce_image'),
    token_regularizer=dict(type='TokenVarianceCovarianceLoss'))

train_pipeline = [
    dict(type='LoadImageFromFileSafe', on_decode_error='skip'),
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
        mask_ratio=0.75,
        num_views=4),
    dict(type='PackInputs', algorithm_keys=['mask'])
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(dataset=dict(pipeline=train_pipeline)))
auto_scale_lr = dict(base_batch_size=16)
