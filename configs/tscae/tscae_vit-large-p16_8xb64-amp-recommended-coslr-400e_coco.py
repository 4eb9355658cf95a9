# TSCAE, recommended configuration, ViT-L/16 at 224 px, 8 GPUs x 64 images, 400
# epochs, on coco: the reference config
# tscae_vit-large-p16_8xb64-amp-coslr-400e_coco.py with the one-way token
# contrast.
_base_ = './tscae_vit-large-p16_8xb64-amp-coslr-400e_coco.py'

# recommended (README, "Which configuration"): a one-way token contrast,
# only the decoder's side predicts the stop-gradient of the student's
# tokens; the reference's is two-way (symmetric=True)
model = dict(contrast_head=dict(symmetric=False))
