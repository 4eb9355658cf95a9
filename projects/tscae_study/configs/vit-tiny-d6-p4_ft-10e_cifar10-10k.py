# Deciding tier (issue 24, docs/results.md): end-to-end fine-tuning of the
# study's encoder on 10,000 labelled CIFAR-10 training images (1,000 per
# class, meta/train_10k.txt, written by tools/run_deciding.py --stages
# prepare), 10 epochs (1,570 steps of 64), top-1 on the 10,000 test images
# every 2 epochs, so that each run leaves its own convergence curve. The
# recipe is the study's 3-epoch one (./vit-tiny-d6-p4_ft-3e_cifar10-5k.py:
# the MAE recipe at small scale), over more images and epochs. 10 epochs
# proved too short for the random init to come near convergence
# (docs/results.md): the deciding runs use the 20-epoch form,
# ./vit-tiny-d6-p4_ft-20e_cifar10-10k.py. Without init_cfg the encoder starts
# from random weights;
# the deciding runner loads each pre-trained encoder with
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=<run>/iter_<N>.pth \
#       model.backbone.init_cfg.prefix=backbone.
_base_ = './vit-tiny-d6-p4_ft-3e_cifar10-5k.py'

train_dataloader = dict(
    dataset=dict(dataset=dict(ann_file='meta/train_10k.txt')))

max_epochs = 10
param_scheduler = [
    dict(_base_.param_scheduler[0], end=1),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - 1,
        begin=1,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
