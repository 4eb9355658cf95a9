# TSCAE, recommended configuration in token-drop mode (README, "Which
# configuration"): the teacher pass on cls + V, the student pass on cls + M
# (its cls output is g_S), about half the reference's encoder cost, and the
# one-way token contrast. ViT-B/16, 224 px, 8 GPUs x 64 images, 400 epochs,
# COCO.
_base_ = './tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py'
model = dict(
    backbone=dict(token_drop=True),
    contrast_head=dict(symmetric=False))  # recommended; reference: True
