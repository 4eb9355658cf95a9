"""A variance / covariance term that keeps the student's tokens apart."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class TokenVarianceCovarianceLoss(BaseModule):
    """VICReg's variance and covariance terms (Bardes et al., 2022) on h_S.

    Every token of h_S in the batch is one sample. The variance term is a
    hinge on each channel's standard deviation over the samples, pushing it
    up to ``std_target``: it is large when the tokens become one vector (per
    image or for all images), the trivial solution of both the token
    contrast and the global loss. The covariance term is the mean squared
    off-diagonal covariance, which spreads the information over the channels
    instead of letting a few carry it.

    Args:
        variance_weight (float): Weight of the variance term. Defaults to 1.
        covariance_weight (float): Weight of the covariance term. Defaults
            to 0.04 (VICReg's 1 : 25 ratio to the variance term).
        std_target (float): The hinge's target standard deviation.
            Defaults to 1.
        eps (float): Added to the variance under the square root. Defaults
            to 1e-4.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 variance_weight: float = 1.,
                 covariance_weight: float = 0.04,
                 std_target: float = 1.,
                 eps: float = 1e-4,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if variance_weight < 0 or covariance_weight < 0 or std_target <= 0:
            raise ValueError(
                'TokenVarianceCovarianceLoss: the weights must be >= 0 and '
                f'std_target > 0; got variance_weight={variance_weight}, '
                f'covariance_weight={covariance_weight}, '
                f'std_target={std_target}.')
        self.variance_weight = variance_weight
        self.covariance_weight = covariance_weight
        self.std_target = std_target
        self.eps = eps

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Weighted variance + covariance terms.

        Args:
            tokens (Tensor): h_S, (N, T, D).

        Returns:
            Tensor: scalar loss.
        """
        x = tokens.float().flatten(0, 1)  # (N * T, D) samples
        x = x - x.mean(dim=0)
        std = torch.sqrt(x.var(dim=0) + self.eps)
        variance = F.relu(self.std_target - std).mean()
        cov = x.T @ x / (len(x) - 1)  # (D, D)
        off_diagonal = cov - torch.diag(cov.diagonal())
        covariance = off_diagonal.pow(2).sum() / x.shape[1]
        return (self.variance_weight * variance +
                self.covariance_weight * covariance)
