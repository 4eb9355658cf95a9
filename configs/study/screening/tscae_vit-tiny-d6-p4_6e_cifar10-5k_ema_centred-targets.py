# Screening, a combination: the momentum target encoder, with each image's
# mean target token subtracted from its target tokens in the token contrast
# (data2vec's per-image target centering), so that what all positions of an
# image share is nothing to predict.
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema.py'
model = dict(contrast_head=dict(center_targets=True))
