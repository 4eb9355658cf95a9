# Study, image quality: the recommended TSCAE (the one-way token contrast) on
# the degraded images of tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py.
# tools/run_study.py sets other degradations with --cfg-options on the
# pipeline's ImageDegradation step
# (train_dataloader.dataset.dataset.pipeline.1.kind / .severity).
_base_ = './tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py'
model = dict(contrast_head=dict(symmetric=False))
