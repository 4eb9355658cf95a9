# Screening: the one-way contrast + stop-gradient global target, and the pixel
# loss on per-patch normalised targets (MAE's recipe; the reference trains
# without it).
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_stop-grad-global.py'
model = dict(head=dict(norm_pix=True))
