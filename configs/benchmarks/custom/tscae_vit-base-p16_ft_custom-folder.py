# Fine-tune a TSCAE-pre-trained ViT on your own single-label classification
# data set, stored one folder per class:
#   <data_root>/train/<class name>/<image>.jpg
#   <data_root>/val/<class name>/<image>.jpg
# The VOC07 fine-tuning recipe (layer-wise lr decay 0.75, drop path 0.1,
# global average pooling) with the MAE recipe's label smoothing 0.1 and
# Mixup / CutMix; top-1 accuracy on val, and top-5 with more than 5 classes.
#
# Copy this file anywhere (your own repository) and train it with our
# tools/train.py or mmpretrain's own:
#   export TSCAE_MM_CONFIGS=$(python -m tscae_mm.utils.config_scope)
#   TB=$(python -c 'import mmpretrain as m; print(m.__path__[0])')
#   python $TB/.mim/tools/train.py my_config.py
# The _base_ paths read TSCAE_MM_CONFIGS (the configs folder of tscae_mm);
# unset, they fall back to ../.., which only works for this file where it is
# shipped. Or write that folder in place of {{$TSCAE_MM_CONFIGS:../..}}.
#
# EDIT in your copy (nothing else needs to change):
#  1. the encoder size: the first _base_ file, _base_/encoders/
#     vit-{small,base,large}-p16.py, or vit-tiny-p4.py (the CPU demo's);
#     the backbone, head width and crop size follow from it;
#  2. data_root;
#  3. classes: the class folders' names, sorted (the order in which the
#     images are numbered); the data set refuses other names and lists the
#     folders it found;
#  4. encoder_checkpoint (a checkpoint from tools/train.py, read with
#     encoder_prefix='backbone.'; one from tools/extract_backbone.py with
#     encoder_prefix=None);
#  5. if you like, the pipelines, batch size
#     (train_dataloader.batch_size), lr (optim_wrapper.optimizer.lr) and
#     max_epochs (validation, checkpoints and the lr schedule follow it).
_base_ = [
    '{{$TSCAE_MM_CONFIGS:../..}}/_base_/encoders/vit-base-p16.py',
    '{{$TSCAE_MM_CONFIGS:../..}}/benchmarks/mmpretrain/'
    'tscae_vit-base-p16_ft-8xb16-coslr-50e_voc07.py',
]
data_root = 'data/my_classification'
classes = ('cat', 'dog')
# None stops the run at initialisation, naming the key to set (or give it
# on the command line: --cfg-options model.backbone.init_cfg.checkpoint=CKPT)
encoder_checkpoint = None
encoder_prefix = 'backbone.'

crop_size = _base_.vit_encoder.img_size
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=crop_size,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(
            pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=crop_size * 256 // 224,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='PackInputs'),
]
max_epochs = 50

# Below: derived from the choices above.
data_preprocessor = dict(num_classes=len(classes), to_onehot=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='TSCAEViT',
        arch=_base_.vit_encoder.arch,
        img_size=_base_.vit_encoder.img_size,
        patch_size=_base_.vit_encoder.patch_size,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,  # MAE recipe: norm after pooling (a new `ln2`)
        init_cfg=dict(
            type='Pretrained',
            checkpoint=encoder_checkpoint,
            prefix=encoder_prefix)),
    head=dict(
        type='LinearClsHead',
        num_classes=len(classes),
        in_channels=_base_.vit_encoder.embed_dims,
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original')),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))

# CheckedCustomDataset: mmpretrain's CustomDataset that checks `classes`
# against the class folders when it is built
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='train',
        metainfo=dict(classes=classes),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='val',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='Accuracy',
    topk=(1, 5) if len(classes) > 5 else (1, ))
test_evaluator = val_evaluator
warmup_epochs = max(1, max_epochs // 10)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max(1, max_epochs - warmup_epochs),
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max(max_epochs, warmup_epochs + 1),
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=min(5, max_epochs))
default_hooks = dict(checkpoint=dict(interval=min(5, max_epochs)))
