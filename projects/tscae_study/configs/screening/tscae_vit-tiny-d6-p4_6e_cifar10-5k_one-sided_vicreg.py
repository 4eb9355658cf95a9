# Screening, a combination: the one-way token contrast (the recommended
# configuration) plus VICReg's variance / covariance terms on h_S.
_base_ = '../tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py'
model = dict(token_regularizer=dict(type='TokenVarianceCovarianceLoss'))
