from .variance_covariance import TokenVarianceCovarianceLoss

__all__ = ['TokenVarianceCovarianceLoss']
