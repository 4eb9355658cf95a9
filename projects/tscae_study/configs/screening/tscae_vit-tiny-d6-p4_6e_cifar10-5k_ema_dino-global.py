# Screening, a combination: momentum target encoder (teacher momentum 0.99,
# constant) for h_S and g_S, a one-way token contrast (with the target from
# the momentum encoder the other direction would only train the predictor),
# and the DINO-style global target (stop-gradient, centering, sharpening).
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_dino-global.py'
model = dict(
    target_momentum=0.01,
    target_end_momentum=0.01,
    contrast_head=dict(symmetric=False))
