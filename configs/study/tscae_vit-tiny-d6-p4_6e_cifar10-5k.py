# Study (docs/results.md): TSCAE, reference-faithful mode, pre-trained on 5,000
# CIFAR-10 training images (500 per class, labels unused) at 32 px for 6 epochs
# on CPU. Encoder: 192 wide, 6 layers, 3 heads, 4 px patches (the demo's);
# teacher decoder 2 layers x 192. Every study config (TSCAE, its token-drop
# mode, MAE, the degraded-image runs) shares this data, crop, schedule and
# seed.
# The image list is written by `python tools/run_study.py --prepare-only`:
#   python tools/train.py configs/study/tscae_vit-tiny-d6-p4_6e_cifar10-5k.py
_base_ = '../tscae/tscae_vit-tiny-p4_demo.py'

# the reference's two-way token contrast (the demo uses the recommended
# one-way form; the study's recommended config switches it back)
model = dict(contrast_head=dict(symmetric=True))

data_root = 'data/cifar10'
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    dataset=dict(
        dataset=dict(
            data_root=data_root,
            ann_file='meta/pretrain_5k.txt',
            with_label=False)))

# AdamW at lr 1e-3 for batch 64 (the same for every method), 1 warm-up epoch,
# then cosine to 0.
optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 6
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=0.,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    # every epoch's encoder is kept: the study plots k-NN accuracy per epoch
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=-1))
