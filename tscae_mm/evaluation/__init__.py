"""Frozen-feature evaluation of pre-trained encoders (k-NN, linear probe)."""
from .feature_stats import (
    effective_rank,
    mean_offdiag_cos,
    pass_stats,
    plain_stats,
)
from .frozen_features import (
    EncoderSpec,
    build_encoder,
    encoder_spec,
    extract_features,
    fit_linear_probe,
    knn_accuracy,
    labelled_features,
    linear_probe,
    load_image_list,
    load_images,
    quiet_init_weights,
)

__all__ = [
    'EncoderSpec', 'build_encoder', 'encoder_spec', 'extract_features',
    'fit_linear_probe', 'knn_accuracy', 'labelled_features', 'linear_probe',
    'load_image_list', 'load_images', 'quiet_init_weights', 'effective_rank',
    'mean_offdiag_cos', 'pass_stats', 'plain_stats'
]
