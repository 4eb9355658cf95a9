# TSCAE with a ViT-B/16 encoder (768 wide, 12 layers, 12 heads) at 224 px.
# Reference settings: decoder of 6 layers at the encoder's width, 12 heads;
# loss weights 1, 1, 1; no per-patch target normalisation.
model = dict(
    type='TSCAE',
    backbone=dict(
        type='TSCAEViT',
        arch='b',
        img_size=224,
        patch_size=16,
        masked_pretraining=True,
        token_drop=False),
    neck=dict(
        type='TSCAETeacherDecoder',
        patch_resolution=14,
        in_channels=768,
        embed_dims=768,
        num_layers=6,
        num_heads=12,
        mlp_ratio=4.),
    head=dict(
        type='TSCAEPixelHead',
        in_channels=768,
        patch_size=16,
        norm_pix=False,
        loss_weight=1.),
    contrast_head=dict(
        type='TSCAETokenContrastHead',
        norm_cfg=dict(type='SyncBN'),
        embed_dims=768,
        reduction=4,
        loss_type='simsiam',
        loss_weight=1.),
    global_head=dict(
        type='TSCAEGlobalConsistencyHead',
        temperature=1.,
        stop_grad_target=False,
        loss_weight=1.),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
