# Study: the recommended TSCAE in token-drop mode (teacher pass on cls + V,
# student pass on cls + M; its cls output is g_S).
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_recommended.py'
model = dict(backbone=dict(token_drop=True))
