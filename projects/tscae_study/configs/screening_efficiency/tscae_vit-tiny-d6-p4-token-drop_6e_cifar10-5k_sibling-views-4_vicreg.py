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

# the study's pipeline with 4 views per image (the mask generator is its
# second-last step), 16 images x 4 views = 64 encoder sequences per step
train_pipeline = [
    *_base_.train_pipeline[:-2],
    dict(_base_.train_pipeline[-2], num_views=4),
    _base_.train_pipeline[-1],
]
train_dataloader = dict(
    batch_size=16, dataset=dict(dataset=dict(pipeline=train_pipeline)))
auto_scale_lr = dict(base_batch_size=16)
