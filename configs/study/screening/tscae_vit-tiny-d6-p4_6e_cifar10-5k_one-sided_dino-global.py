# Screening, a combination without a momentum encoder: the one-way token
# contrast and the DINO-style global target (stop-gradient, centering,
# sharpening), so that neither auxiliary loss pulls the student pass; its
# outputs are targets only, from the same weights (SimSiam's stop-gradient).
_base_ = '../tscae_vit-tiny-d6-p4_6e_cifar10-5k.py'
model = dict(
    contrast_head=dict(symmetric=False),
    global_head=dict(
        stop_grad_target=True,
        center_momentum=0.9,
        temperature=0.1,
        target_temperature=0.04))
