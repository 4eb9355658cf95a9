# The recommended TSCAE (README, "Which configuration"), chosen by measurement
# (docs/results.md, "Making TSCAE learn"): the reference's model and three
# losses, with a one-way token contrast: only the decoder's side predicts the
# stop-gradient of the student's tokens h_S; nothing pulls the student pass
# towards the decoder. With the reference's two-way contrast the student's
# tokens collapse to one vector per image at small scale and the encoder ends
# at the random-init floor.
# Use it in a config inheriting a reference config and this file:
#   _base_ = ['<reference config>', '../_base_/tscae_recommended.py']
#   model = {{_base_.tscae_recommended}}
tscae_recommended = dict(contrast_head=dict(symmetric=False))
