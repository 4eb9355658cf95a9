# Screening: the study's TSCAE reference run with a one-way token contrast:
# only predictor(d_M) -> stop-gradient(h_S); the student pass is no longer
# pulled towards the decoder. Everything else is the reference's.
_base_ = '../tscae_vit-tiny-d6-p4_6e_cifar10-5k.py'
model = dict(contrast_head=dict(symmetric=False))
