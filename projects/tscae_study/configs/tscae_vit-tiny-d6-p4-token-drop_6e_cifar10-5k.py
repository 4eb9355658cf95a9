# Study: TSCAE in token-drop mode (teacher on cls + V, student on cls + M);
# everything else as the reference-mode study config.
_base_ = './_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(backbone=dict(token_drop=True))
