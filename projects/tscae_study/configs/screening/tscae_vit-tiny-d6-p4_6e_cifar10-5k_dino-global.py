# Screening: the study's TSCAE reference run with a DINO-style global target:
# stop-gradient on g_S, a running center (momentum 0.9) subtracted from it,
# target temperature 0.04 against 0.1 for the prediction (DINO's values).
# Everything else is the reference's.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(
    global_head=dict(
        stop_grad_target=True,
        center_momentum=0.9,
        temperature=0.1,
        target_temperature=0.04,
        embed_dims=192))
