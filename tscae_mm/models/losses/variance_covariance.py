"""A variance / covariance term that keeps the student's tokens apart."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


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

    With ``expander_dims`` the terms act on an MLP of the tokens, as in
    VICReg, where they act on the expander's output and the representation
    before it is the one that transfers: the encoder's tokens are then no
    longer made isotropic themselves (which a nearest-neighbour vote rewards
    and a linear classifier does not), only a learned map of them is.

    Args:
        variance_weight (float): Weight of the variance term. Defaults to 1.
        covariance_weight (float): Weight of the covariance term. Defaults
            to 0.04 (VICReg's 1 : 25 ratio to the variance term).
        std_target (float): The hinge's target standard deviation.
            Defaults to 1.
        eps (float): Added to the variance under the square root. Defaults
            to 1e-4.
        in_channels (int, optional): Width D of the tokens; needed with
            ``expander_dims``.
        expander_dims (Sequence[int], optional): Widths of the expander's
            layers, e.g. ``(768, 768)``: ``Linear -> norm -> ReLU`` for each
            but the last, which is a plain ``Linear``. Defaults to None (the
            terms act on the tokens themselves).
        norm_cfg (dict): Normalisation inside the expander. Defaults to
            ``dict(type='BN1d')``; under DDP ``SyncBN`` shares its
            statistics.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 variance_weight: float = 1.,
                 covariance_weight: float = 0.04,
                 std_target: float = 1.,
                 eps: float = 1e-4,
                 in_channels: Optional[int] = None,
                 expander_dims: Optional[Sequence[int]] = None,
                 norm_cfg: dict = dict(type='BN1d'),
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
        self.expander = None
        if expander_dims is not None:
            if not in_channels or not expander_dims or min(expander_dims) < 1:
                raise ValueError(
                    'TokenVarianceCovarianceLoss: expander_dims needs '
                    'in_channels (the token width) and at least one positive '
                    f'width; got in_channels={in_channels}, '
                    f'expander_dims={expander_dims}.')
            layers, width = [], in_channels
            for i, out in enumerate(expander_dims):
                layers.append(nn.Linear(width, out))
                if i < len(expander_dims) - 1:
                    layers += [build_norm_layer(norm_cfg, out)[1],
                               nn.ReLU(inplace=True)]
                width = out
            self.expander = nn.Sequential(*layers)

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Weighted variance + covariance terms.

        Args:
            tokens (Tensor): h_S, (N, T, D).

        Returns:
            Tensor: scalar loss.
        """
        x = tokens.flatten(0, 1)  # (N * T, D) samples
        if self.expander is not None:
            x = self.expander(x)
        x = x.float()
        x = x - x.mean(dim=0)
        std = torch.sqrt(x.var(dim=0) + self.eps)
        variance = F.relu(self.std_target - std).mean()
        cov = x.T @ x / (len(x) - 1)  # (D, D)
        off_diagonal = cov - torch.diag(cov.diagonal())
        covariance = off_diagonal.pow(2).sum() / x.shape[1]
        return (self.variance_weight * variance +
                self.covariance_weight * covariance)
