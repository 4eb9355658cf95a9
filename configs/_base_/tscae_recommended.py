# The recommended TSCAE (README, "Which configuration"), chosen by measurement
# (docs/results.md, "Making TSCAE learn"): the reference's model and three
# losses, but no loss pulls the student pass. The token contrast is one-way
# (only the decoder's side predicts the stop-gradient of h_S) and the global
# target g_S has a stop-gradient, so the student pass only supplies targets
# (it then runs without a graph: cheaper than the reference). With the
# reference's both-way forms the student's outputs collapse at small scale.
# Use it in a config inheriting a reference config and this file:
#   _base_ = ['<reference config>', '../_base_/tscae_recommended.py']
#   model = {{_base_.tscae_recommended}}
tscae_recommended = dict(
    contrast_head=dict(symmetric=False),
    global_head=dict(stop_grad_target=True))
