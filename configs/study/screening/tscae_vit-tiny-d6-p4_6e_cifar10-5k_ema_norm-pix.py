# Screening, a combination: the momentum target encoder, and the pixel loss on
# per-patch normalised targets (MAE's recipe; the reference trains without
# it), the part of TSCAE that learns in every run of the study.
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k_ema.py'
model = dict(head=dict(norm_pix=True))
