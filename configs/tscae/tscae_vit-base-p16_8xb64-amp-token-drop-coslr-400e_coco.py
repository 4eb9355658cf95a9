# TSCAE, token-dropping variant (ours): the teacher pass sees only cls + V and
# the student pass only cls + M; the global target is the student's cls
# output. About half the reference's encoder cost; compare with
# tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py.
_base_ = './tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py'
model = dict(backbone=dict(token_drop=True))
