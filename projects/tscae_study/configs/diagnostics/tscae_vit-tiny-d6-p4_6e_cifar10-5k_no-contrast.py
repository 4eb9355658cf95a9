# Diagnostic of the study (docs/results.md), not a tuned variant: the study's
# TSCAE reference run without the token-contrast loss (weight 0), to test
# whether that loss causes the collapse of the encoder's features.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(contrast_head=dict(loss_weight=0.))
