"""Tiny models shared by test files of several folders: a one-block ViT
classifier config for mmpretrain's runner, and the tiny ViT the benchmark
configs are shrunk to."""

# A 1-block, 32-wide ViT classifier on 16 px images; format with data_root.
TINY_CLASSIFIER_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['tscae_mm'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False),
    backbone=dict(
        type='VisionTransformer',
        arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                  feedforward_channels=64),
        img_size=16,
        patch_size=8),
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=2,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss')))
dataset = dict(
    type='CustomDataset',
    data_root={data_root!r},
    pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
train_dataloader = dict(
    batch_size=2, num_workers=0, dataset=dataset,
    sampler=dict(type='DefaultSampler', shuffle=True))
test_dataloader = dict(
    batch_size=2, num_workers=0, dataset=dataset,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
"""

TINY_ARCH = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
TINY_WIDTH = TINY_ARCH['embed_dims']


def replace_width(node, width):
    """Channel arguments equal to the ViT width become TINY_WIDTH; SyncBN
    becomes BN (one CPU process)."""
    for key, value in node.items():
        if key in ('in_channels', 'input_features', 'channels'):
            if value == width:
                node[key] = TINY_WIDTH
            elif isinstance(value, list) and set(value) == {width}:
                node[key] = [TINY_WIDTH] * len(value)
        elif key == 'type' and value == 'SyncBN':
            node[key] = 'BN'
        elif isinstance(value, dict):
            replace_width(value, width)
