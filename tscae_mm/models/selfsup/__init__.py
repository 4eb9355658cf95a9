from .tscae import TSCAE

__all__ = ['TSCAE']
