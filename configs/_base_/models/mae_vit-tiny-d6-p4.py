# mmpretrain's MAE with the demo / study encoder (192 wide, 6 layers, 3
# heads, 4 px patches, 32 px), mask ratio 0.75, normalised pixel targets and
# a decoder of TSCAE's teacher-decoder size (2 layers x 192, 3 heads). A
# variable, not `model`, so that a config inheriting a TSCAE config can
# replace its model: `model = {{_base_.mae_vit_tiny_d6_p4}}`.
mae_vit_tiny_d6_p4 = dict(
    _delete_=True,
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        to_rgb=True),
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=32,
        patch_size=4,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=64,
        patch_size=4,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=192,
        decoder_depth=2,
        decoder_num_heads=3,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
