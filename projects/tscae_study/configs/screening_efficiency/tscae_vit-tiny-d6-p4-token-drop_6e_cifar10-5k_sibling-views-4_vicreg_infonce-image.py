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
