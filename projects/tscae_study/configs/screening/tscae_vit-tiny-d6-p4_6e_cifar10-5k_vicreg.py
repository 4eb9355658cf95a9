# Screening: the study's TSCAE reference run plus VICReg's variance and
# covariance terms on the student's tokens h_S (every token of the batch a
# sample; weights 1 and 0.04, VICReg's 25 : 1). Everything else is the
# reference's.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(token_regularizer=dict(type='TokenVarianceCovarianceLoss'))
