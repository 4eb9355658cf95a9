# Study (docs/results.md): TSCAE, reference-faithful mode, pre-trained on 5,000
# CIFAR-10 training images (500 per class, labels unused) at 32 px for 6 epochs
# on CPU (everything is in the study's base, which every study config shares):
#   python tools/train.py \
#       projects/tscae_study/configs/tscae_vit-tiny-d6-p4_6e_cifar10-5k.py
_base_ = './_base_/tscae_vit-tiny-d6-p4_cifar10-5k.py'
