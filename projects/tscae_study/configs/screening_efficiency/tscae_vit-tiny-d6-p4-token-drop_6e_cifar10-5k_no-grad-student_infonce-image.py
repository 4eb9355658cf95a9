# Screening (issue 22, cost): the no-grad-student candidate (token-drop passes,
# one-way contrast, stop-gradient global target) with the same-image InfoNCE
# token contrast (ConMIM): at each masked position the positive is the target
# at that position, the negatives the targets at the image's other masked
# positions; temperature 0.1.
# The candidate's base is the no-grad-student screening config
# ../screening/tscae_vit-tiny-d6-p4-token-drop_6e_cifar10-5k_one-sided_
# stop-grad-global.py, written as its own base + token_drop=True to stay
# within the study's 3 levels of inheritance.
_base_ = ('../screening/tscae_vit-tiny-d6-p4_6e_cifar10-5k_one-sided_'
          'stop-grad-global.py')
model = dict(
    backbone=dict(token_drop=True),
    contrast_head=dict(loss_type='infonce_image'))
