# Screening (issue 22): sibling-view targets with the variance / covariance
# term (VICReg) on the teacher outputs at V. Those tokens carry the gradient
# and their detached copies are the siblings' targets, so the term spreads the
# targets themselves at no extra encoder cost (the study's VICReg screening
# run put it on the student pass, which then needs its backward: k-NN above
# MAE's, linear probe below). Everything else is the sibling-views candidate
# (./tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_sibling-views-4.py), written
# out on the same base to stay within the study's 3 levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views',
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
