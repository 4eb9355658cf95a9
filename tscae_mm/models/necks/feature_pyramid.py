"""Multi-scale feature maps from a plain ViT, for FPN and UperNet necks."""
import math
from typing import Sequence, Tuple

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class ViTFeaturePyramid(BaseModule):
    """Re-scale single-stride ViT feature maps into a feature pyramid.

    A plain ViT gives every chosen layer at the patch stride. As ViTDet and
    MMSegmentation's MAE / BEiT configs do, each map is re-scaled by its own
    factor: up by 2 per transposed convolution (kernel 2, stride 2, with
    norm and activation between two of them), kept as is for 1, or down by
    max-pooling. For patch size ``p``, the scale that gives stride ``s`` is
    ``p / s``; the usual strides 4, 8, 16, 32 need:

    ==========  =======================
    patch size  scales
    ==========  =======================
    16          ``(4, 2, 1, 0.5)``
    8           ``(2, 1, 0.5, 0.25)``
    4           ``(1, 0.5, 0.25, 0.125)``
    ==========  =======================

    Args:
        embed_dims (int): Channels C of the input maps (the ViT width); the
            output maps have the same channels.
        scales (Sequence[float]): One re-scaling factor per input map, each a
            power of two (e.g. 4, 2, 1, 0.5). Defaults to ``(4, 2, 1, 0.5)``.
        norm_cfg (dict): Norm between two up-sampling steps. Defaults to
            ``dict(type='BN')`` (use ``SyncBN`` for multi-GPU training).
        act_cfg (dict): Activation between two up-sampling steps. Defaults to
            ``dict(type='GELU')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 embed_dims: int,
                 scales: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.scales = tuple(scales)
        self.rescalers = nn.ModuleList([
            self._build_rescaler(embed_dims, scale, norm_cfg, act_cfg)
            for scale in self.scales
        ])

    @staticmethod
    def _power_of_two(scale: float) -> int:
        """The exponent k with ``scale == 2 ** k``; ValueError otherwise."""
        if scale <= 0 or not math.log2(scale).is_integer():
            raise ValueError(
                f'ViTFeaturePyramid: every scale must be a power of two '
                f'(e.g. 4, 2, 1, 0.5), got {scale}; for patch size p and '
                f'output stride s use scale p / s.')
        return int(math.log2(scale))

    def _build_rescaler(self, embed_dims: int, scale: float, norm_cfg: dict,
                        act_cfg: dict) -> nn.Module:
        """Module mapping (B, C, H, W) to (B, C, H * scale, W * scale)."""
        exponent = self._power_of_two(scale)
        if exponent == 0:
            return nn.Identity()
        if exponent < 0:
            return nn.MaxPool2d(kernel_size=2**-exponent)
        steps = []
        for step in range(exponent):
            if step > 0:
                steps += [
                    build_norm_layer(norm_cfg, embed_dims)[1],
                    build_activation_layer(act_cfg)
                ]
            steps.append(
                nn.ConvTranspose2d(
                    embed_dims, embed_dims, kernel_size=2, stride=2))
        return nn.Sequential(*steps)

    def forward(self, feats: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """Re-scale each map by its factor.

        Args:
            feats (Sequence[Tensor]): One (B, C, H, W) map per scale, all at
                the patch stride.

        Returns:
            tuple[Tensor]: Map i has shape (B, C, H * scales[i],
            W * scales[i]) (rounded down when pooling an odd size).
        """
        if len(feats) != len(self.scales):
            raise ValueError(
                f'ViTFeaturePyramid got {len(feats)} feature maps but has '
                f'{len(self.scales)} scales {self.scales}: give the backbone '
                f'one out_indices entry per scale.')
        return tuple(
            rescale(feat) for rescale, feat in zip(self.rescalers, feats))
