# Parts of the demo / study encoder that its TSCAE and MAE models share:
# ViT-Tiny width (192, 3 heads), 6 layers, and the CIFAR-10 pixel statistics.
# Variables for `{{_base_.<name>}}` in the model bases.
vit_tiny_d6_arch = dict(
    embed_dims=192, num_layers=6, num_heads=3, feedforward_channels=768)
cifar10_selfsup_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)
