# Screening: the momentum target encoder in token-drop mode: the teacher pass
# on cls + V, the momentum copy's student pass on cls + M (its cls output is
# g_S). Otherwise `tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema.py`.
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema.py'
model = dict(backbone=dict(token_drop=True))
