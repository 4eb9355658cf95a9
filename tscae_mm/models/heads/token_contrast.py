"""Token contrast: the decoder's features at M against the student's."""
import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

LOSS_TYPES = ('simsiam', 'infonce', 'infonce_image')


@MODELS.register_module()
class TSCAETokenContrastHead(BaseModule):
    """SimSiam-style predictor and loss between d_M and h_S at each M position.

    The predictor is ``Linear(D, D/r) -> BatchNorm -> ReLU -> Linear(D/r, D)``
    and is applied to both sides. ``'simsiam'`` (reference) is the symmetric
    negative cosine similarity, each side's prediction against the
    stop-gradient of the other side. With ``symmetric=False`` only the
    decoder's side predicts the stop-gradient of h_S (the one-way
    prediction of BYOL and of SimSiam's asymmetric form): nothing pulls the
    student pass towards the decoder, so the student cannot meet the
    decoder halfway at a constant. ``'infonce'`` (ours, an option the
    reference also wrote) contrasts each prediction with the other side at
    the same position in every image of the batch; the same image is the
    positive. ``'infonce_image'`` (ours, after ConMIM, Yi et al., ICLR 2023)
    contrasts each prediction with the other side at every position of M
    of the same image; the same position is the positive, the image's other
    masked positions are the negatives, so one vector per image (the
    collapse seen at small scale) is what it penalises most, and no other
    image enters the loss.

    Under DDP the BatchNorm statistics are per process unless the config
    sets ``norm_cfg=dict(type='SyncBN')`` (or the runner converts BatchNorm
    with ``sync_bn``).

    Args:
        embed_dims (int): Width D of d_M and h_S. Defaults to 768.
        reduction (int): Bottleneck ratio r of the predictor. Defaults to 4.
        loss_type (str): ``'simsiam'``, ``'infonce'`` (negatives: the same
            position in the other images) or ``'infonce_image'``
            (negatives: the other masked positions of the same image).
        symmetric (bool): Both directions (the reference's) or only
            predictor(d_M) -> stop-gradient(h_S). Defaults to True.
        center_targets (bool): Subtract each image's mean target token from
            its target tokens. Defaults to False.
        temperature (float): Temperature of both InfoNCE forms. Defaults to
            0.1.
        norm_cfg (dict): Normalisation of the predictor's bottleneck.
            Defaults to ``dict(type='BN1d')``.
        loss_weight (float): Weight of this term. Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 768,
                 reduction: int = 4,
                 loss_type: str = 'simsiam',
                 symmetric: bool = True,
                 center_targets: bool = False,
                 temperature: float = 0.1,
                 norm_cfg: dict = dict(type='BN1d'),
                 loss_weight: float = 1.,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_type not in LOSS_TYPES:
            raise ValueError('TSCAETokenContrastHead: loss_type must be one '
                             f'of {LOSS_TYPES}, got {loss_type!r}.')
        if temperature <= 0:
            raise ValueError('TSCAETokenContrastHead: temperature must be '
                             f'positive, got {temperature}.')
        hidden = embed_dims // reduction
        self.predictor = nn.Sequential(
            nn.Linear(embed_dims, hidden),
            build_norm_layer(norm_cfg, hidden)[1], nn.ReLU(inplace=True),
            nn.Linear(hidden, embed_dims))
        self.loss_type = loss_type
        self.symmetric = symmetric
        self.center_targets = center_targets
        self.temperature = temperature
        self.loss_weight = loss_weight

    def predict(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, T, D) -> (N, T, D); BatchNorm sees all N * T tokens."""
        return self.predictor(tokens.flatten(0, 1)).view_as(tokens)

    def loss(self, decoded_masked: torch.Tensor,
             student_masked: torch.Tensor) -> torch.Tensor:
        """Weighted contrast loss.

        Args:
            decoded_masked (Tensor): d_M, (N, |M|, D), from the decoder.
            student_masked (Tensor): h_S, (N, |M|, D), from the student pass.

        Returns:
            Tensor: scalar loss.
        """
        compare = dict(
            simsiam=self._negative_cosine,
            infonce=self._info_nce,
            infonce_image=self._info_nce_image)[self.loss_type]
        loss = compare(
            self.predict(decoded_masked), self._target(student_masked))
        if self.symmetric:
            loss = 0.5 * (loss + compare(
                self.predict(student_masked), self._target(decoded_masked)))
        return self.loss_weight * loss

    def _target(self, tokens: torch.Tensor) -> torch.Tensor:
        """Stop-gradient (N, T, D) targets, centred per image if asked."""
        tokens = tokens.detach()
        if self.center_targets:
            tokens = tokens - tokens.mean(dim=1, keepdim=True)
        return tokens

    @staticmethod
    def _negative_cosine(pred: torch.Tensor,
                         target: torch.Tensor) -> torch.Tensor:
        """Mean of -cos(pred, target) over images and positions."""
        return -F.cosine_similarity(
            pred.float(), target.float(), dim=-1).mean()

    def _info_nce(self, pred: torch.Tensor,
                  target: torch.Tensor) -> torch.Tensor:
        """Per position, the same image is the positive among the batch.

        Args:
            pred (Tensor): (N, T, D); target (Tensor): (N, T, D).
        """
        pred = F.normalize(pred.float(), dim=-1).transpose(0, 1)  # (T, N, D)
        target = F.normalize(target.float(), dim=-1).transpose(0, 1)
        logits = pred @ target.transpose(1, 2) / self.temperature  # (T, N, N)
        labels = torch.arange(logits.shape[-1], device=logits.device)
        return F.cross_entropy(
            logits.flatten(0, 1), labels.repeat(logits.shape[0]))

    def _info_nce_image(self, pred: torch.Tensor,
                        target: torch.Tensor) -> torch.Tensor:
        """Per image, the same position is the positive among its positions.

        Args:
            pred (Tensor): (N, T, D); target (Tensor): (N, T, D).

        Returns:
            Tensor: the cross-entropy of the (N, T, T) cosine logits
            ``pred[n, i] . target[n, j] / temperature`` against ``j = i``,
            averaged over images and positions.
        """
        pred = F.normalize(pred.float(), dim=-1)
        target = F.normalize(target.float(), dim=-1)
        logits = pred @ target.transpose(1, 2) / self.temperature  # (N, T, T)
        labels = torch.arange(logits.shape[-1], device=logits.device)
        return F.cross_entropy(
            logits.flatten(0, 1), labels.repeat(logits.shape[0]))
