# Screening, a combination without a momentum encoder: the one-way token
# contrast and a stop-gradient on the global target (the reference's
# temperature 1, no centering), so that no loss pulls the student pass; its
# outputs are targets only, from the same weights (SimSiam's stop-gradient),
# and it runs without a graph.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(
    contrast_head=dict(symmetric=False),
    global_head=dict(stop_grad_target=True))
