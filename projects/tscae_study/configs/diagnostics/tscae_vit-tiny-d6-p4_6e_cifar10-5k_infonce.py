# Diagnostic of the study (docs/results.md), not a tuned variant: the study's
# TSCAE reference run with the reference's InfoNCE form of the token-contrast
# loss (temperature 0.1, negatives: the same position in the other images of
# the batch) instead of the SimSiam form.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(contrast_head=dict(loss_type='infonce'))
