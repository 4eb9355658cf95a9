# Screening (issue 22, cost): sibling-view targets. Each image comes with K = 4
# teacher views whose visible sets (16 of the 64 patches each, mask ratio 0.75)
# are disjoint and cover the image; one teacher pass with gradient over the
# 4 views, no student pass: a view's targets at its masked positions are the
# (detached) outputs of the sibling views that saw them, its global target the
# mean of the siblings' cls outputs. Encoder cost per view: MAE's.
# A step holds 16 images x 4 views = 64 teacher sequences, as the other
# candidates' 64 images (lr 1e-3 for those 64 sequences; auto_scale_lr counts
# images, hence its base of 16). An epoch is therefore 4x the iterations of a
# batch-64 epoch (each image appears as 4 views per epoch); the screening
# compares candidates at equal wall-clock, converted to iterations.
# The candidate's base is the no-grad-student screening config
# ../screening/tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_one-sided_
# stop-grad-global.py, written as its own base + token_drop=True to stay
# within the study's 3 levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views')

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
