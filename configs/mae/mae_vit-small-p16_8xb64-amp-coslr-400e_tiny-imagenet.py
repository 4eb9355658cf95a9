# MAE baseline (ViT-S/16) on Tiny-ImageNet-200 train images, as the TSCAE
# Tiny-ImageNet configs; layout: data/tiny-imagenet-200/train/<wnid>/images/.
_base_ = './mae_vit-small-p16_8xb64-amp-coslr-400e_coco.py'
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            data_root='data/tiny-imagenet-200/', data_prefix='train')))
