# Study (docs/results.md): the recommended TSCAE (README, "Which
# configuration": the one-way token contrast) with everything else as in the
# study's reference run.
_base_ = './_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(contrast_head=dict(symmetric=False))
