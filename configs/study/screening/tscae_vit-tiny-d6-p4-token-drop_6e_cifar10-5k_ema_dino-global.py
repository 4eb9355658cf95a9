# Screening, a combination in token-drop mode: the teacher pass on cls + V,
# the momentum encoder's student pass on cls + M (its cls output is g_S),
# with the switches of `tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema_dino-global.py`.
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema_dino-global.py'
model = dict(backbone=dict(token_drop=True))
