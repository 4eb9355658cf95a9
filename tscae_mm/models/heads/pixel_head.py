"""Pixel prediction: the decoder's features at M regress the hidden patches."""
import torch
from mmpretrain.models.heads import MAEPretrainHead
from mmpretrain.registry import MODELS
from torch import nn

from ..utils import gather_tokens


@MODELS.register_module()
class TSCAEPixelHead(MAEPretrainHead):
    """MLP from d_M to patch pixels, with MSE against the patches at M.

    Builds on :class:`mmpretrain.models.heads.MAEPretrainHead` for the
    patchify and the per-patch target normalisation (``norm_pix``).

    Args:
        in_channels (int): Width D of d_M. Defaults to 768.
        hidden_channels (int, optional): Hidden width of the 2-layer MLP;
            defaults to ``in_channels``.
        patch_size (int): Patch side p. Defaults to 16.
        image_channels (int): Image channels C. Defaults to 3.
        norm_pix (bool): Normalise each target patch by its mean and std
            (MAE's recipe). Defaults to False (the reference's TSCAE).
        loss (dict): Reconstruction loss config. Defaults to mmpretrain's
            ``PixelReconstructionLoss`` with L2.
        loss_weight (float): Weight of this term. Defaults to 1.
    """

    def __init__(self,
                 in_channels: int = 768,
                 hidden_channels: int = None,
                 patch_size: int = 16,
                 image_channels: int = 3,
                 norm_pix: bool = False,
                 loss: dict = dict(
                     type='PixelReconstructionLoss', criterion='L2'),
                 loss_weight: float = 1.) -> None:
        super().__init__(
            loss=loss,
            norm_pix=norm_pix,
            patch_size=patch_size,
            in_channels=image_channels)
        hidden_channels = hidden_channels or in_channels
        self.predictor = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.GELU(),
            nn.Linear(hidden_channels, patch_size**2 * image_channels))
        self.loss_weight = loss_weight

    def predict_pixels(self, decoded_masked: torch.Tensor) -> torch.Tensor:
        """(N, |M|, D) decoder features -> (N, |M|, p*p*C) patch pixels."""
        return self.predictor(decoded_masked)

    def loss(self, decoded_masked: torch.Tensor, images: torch.Tensor,
             ids_masked: torch.Tensor) -> torch.Tensor:
        """Weighted MSE between the predicted and the true patches at M.

        Args:
            decoded_masked (Tensor): d_M, (N, |M|, D).
            images (Tensor): The (normalised) input images, (N, C, H, W).
            ids_masked (Tensor): Patch indices of M, (N, |M|).

        Returns:
            Tensor: scalar loss.
        """
        target = gather_tokens(self.construct_target(images), ids_masked)
        pred = self.predict_pixels(decoded_masked).float()
        return self.loss_weight * self.loss_module(pred, target.float())
