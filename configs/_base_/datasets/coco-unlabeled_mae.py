# The COCO pre-training images of coco-unlabeled_tscae.py (same crop, flip
# and batch) for mmpretrain's MAE: that pipeline's loading, crop and flip,
# without the complementary-mask transform, as MAE masks inside its encoder.
_base_ = './coco-unlabeled_tscae.py'
train_pipeline = _base_.train_pipeline[:3] + [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
