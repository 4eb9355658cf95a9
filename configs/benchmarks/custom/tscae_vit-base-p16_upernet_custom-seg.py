# Semantic segmentation on your own data set of images and PNG label masks
# with a TSCAE-pre-trained ViT-B/16 in UperNet (the VOC12-aug config's model,
# optimiser and 40k-iteration schedule), mIoU on val:
#   <data_root>/images/train/<name>.jpg   <data_root>/masks/train/<name>.png
#   <data_root>/images/val/<name>.jpg     <data_root>/masks/val/<name>.png
# A mask pixel holds its class index (0 .. len(classes) - 1, in the order of
# `classes`), 255 where it should be ignored; single-channel or palette PNG.
#   python tools/train.py configs/benchmarks/custom/<this file>
# EDIT in a copy of this file: 1. data_root; 2. classes (index 0 first,
# usually 'background'); 3. palette (one RGB colour per class, used to draw
# predictions); 4. img_suffix / seg_map_suffix if your files end otherwise;
# 5. the checkpoint, below; 6. if you like, crop size and schedule.
data_root = 'data/my_segmentation'
classes = ('background', 'cat', 'dog')
palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
img_suffix = '.jpg'
seg_map_suffix = '.png'

_base_ = '../mmseg/tscae_vit-base-p16_upernet_4xb4-40k_voc12aug-512x512.py'

# The pre-trained checkpoint: model.backbone.init_cfg.checkpoint, here or with
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# (while it is None the run stops at initialisation, naming that key). The
# base's prefix='backbone.' reads a checkpoint from tools/train.py; set
# model.backbone.init_cfg.prefix=None for one from tools/extract_backbone.py.
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=None)),
    decode_head=dict(num_classes=len(classes)),
    auxiliary_head=dict(num_classes=len(classes)))

my_dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix=img_suffix,
    seg_map_suffix=seg_map_suffix,
    reduce_zero_label=False)
train_dataloader = dict(
    dataset=dict(
        my_dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        my_dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/val', seg_map_path='masks/val'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
