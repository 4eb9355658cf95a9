# Study, image quality: the recommended TSCAE (configs/_base_/
# tscae_recommended.py) on the degraded images of
# tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py. tools/run_study.py sets
# other degradations with --cfg-options on the pipeline's ImageDegradation
# step (train_dataloader.dataset.dataset.pipeline.1.kind / .severity).
_base_ = [
    './tscae_vit-tiny-d6-p4_6e_cifar10-5k-resample2.py',
    '../_base_/tscae_recommended.py'
]
model = {{_base_.tscae_recommended}}
