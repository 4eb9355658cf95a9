# Screening (issue 22): sibling-view targets with the variance / covariance
# term behind an expander, as VICReg places it (Bardes et al., 2022): the
# terms act on an MLP of the teacher outputs at V (192 -> 768 -> 768), not on
# the tokens themselves. With the term on the tokens (./..._vicreg.py) the
# features became nearly isotropic (effective rank 97 against MAE's 44): k-NN
# far above MAE's, linear probe 4-8 points below and flat from the short to
# the long budget. VICReg reports the representation before its expander as
# the one that transfers; this tests whether moving the term there keeps the
# k-NN gain and frees the linear probe. Everything else is the sibling-views
# + variance / covariance candidate, written out on the same base to stay
# within the study's 3 levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    student_targets='sibling_views',
    token_regularizer=dict(
        type='TokenVarianceCovarianceLoss',
        in_channels=192,
        expander_dims=(768, 768),
        norm_cfg=dict(type='SyncBNAnyDevice')))

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
