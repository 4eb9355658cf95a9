# Screening (issue 22, cost): sibling-view targets, as
# ./tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_sibling-views-4.py (16 images
# x 4 views = 64 teacher sequences per step; its comment says more), with the
# same-image InfoNCE token contrast (ConMIM): at each masked position of a
# view the positive is the target at that position, the negatives the targets
# at the view's other masked positions; temperature 0.1. Written out rather
# than inherited from it, to stay within the study's 3 levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views',
    contrast_head=dict(loss_type='infonce_image'))

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
