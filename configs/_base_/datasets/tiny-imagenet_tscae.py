# Pre-training images: Tiny-ImageNet-200 train split (64x64 images, up-sampled
# to 224 by the crop, the paper's low-quality setting), labels unused.
# Expected layout (the archive's own, under data/):
#   data/tiny-imagenet-200/train/<wnid>/images/*.JPEG
_base_ = './coco-unlabeled_tscae.py'
data_root = 'data/tiny-imagenet-200/'
train_dataloader = dict(
    dataset=dict(dataset=dict(data_root=data_root, data_prefix='train')))
