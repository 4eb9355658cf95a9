# Fine-tune a TSCAE-pre-trained ViT-B/16 on your own single-label
# classification data set stored one folder per class:
#   <data_root>/train/<class name>/<image>.jpg
#   <data_root>/val/<class name>/<image>.jpg
# (class indices follow the sorted folder names). Same recipe as the VOC07
# fine-tuning config (layer-wise lr decay 0.75, drop path 0.1, global average
# pooling, RandAugment, random erasing) plus the MAE recipe's label smoothing
# 0.1 and Mixup / CutMix; top-1 / top-5 accuracy on val.
#   python tools/train.py configs/benchmarks/custom/<this file>
# EDIT in a copy of this file: 1. data_root; 2. num_classes (the number of
# class folders); 3. the checkpoint, below; 4. if you like, max_epochs (and
# the param_scheduler's end with it), batch size (train_dataloader.batch_size)
# and lr (optim_wrapper.optimizer.lr).
data_root = 'data/my_classification'
num_classes = 10

_base_ = '../mmpretrain/tscae_vit-base-p16_ft-8xb16-coslr-50e_voc07.py'

data_preprocessor = dict(num_classes=num_classes, to_onehot=False)
# The pre-trained checkpoint: model.backbone.init_cfg.checkpoint, here or with
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# (while it is None the run stops at initialisation, naming that key). The
# base's prefix='backbone.' reads a checkpoint from tools/train.py; set
# model.backbone.init_cfg.prefix=None for one from tools/extract_backbone.py.
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=None)),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original')),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
