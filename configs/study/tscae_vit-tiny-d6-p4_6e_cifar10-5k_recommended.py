# Study (docs/results.md): the recommended TSCAE (configs/_base_/
# tscae_recommended.py) with everything else as in the study's reference run.
_base_ = [
    './tscae_vit-tiny-d6-p4_6e_cifar10-5k.py',
    '../_base_/tscae_recommended.py'
]
model = {{_base_.tscae_recommended}}
