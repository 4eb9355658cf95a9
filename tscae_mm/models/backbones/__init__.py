from .tscae_vit import TSCAEEncoderOutput, TSCAEViT

__all__ = ['TSCAEViT', 'TSCAEEncoderOutput']
