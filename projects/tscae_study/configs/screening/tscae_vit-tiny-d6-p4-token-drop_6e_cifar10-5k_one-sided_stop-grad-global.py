# Screening: the one-way contrast + stop-gradient global target in token-drop
# mode (teacher pass on cls + V with gradient, student pass on cls + M as a
# target only, its cls output being g_S).
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_stop-grad-global.py'
model = dict(backbone=dict(token_drop=True))
