# Screening (docs/results.md, "Making TSCAE learn"): the study's TSCAE
# reference run with one switch: the student-side targets h_S and g_S come
# from a momentum copy of the encoder (mmpretrain's CosineEMA), at a constant
# teacher momentum of 0.99 (no annealing, so a run stopped early is the start
# of the full run). Everything else is the reference's.
_base_ = '../_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
model = dict(target_momentum=0.01, target_end_momentum=0.01)
