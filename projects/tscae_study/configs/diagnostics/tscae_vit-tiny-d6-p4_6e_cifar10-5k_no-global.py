# Diagnostic of the study (docs/results.md), not a tuned variant: the study's
# TSCAE reference run without the global-consistency loss (weight 0).
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(global_head=dict(loss_weight=0.))
