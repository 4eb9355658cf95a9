"""Global consistency: the decoder's global query against the student."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class TSCAEGlobalConsistencyHead(BaseModule):
    """Cross-entropy over channels between softmax(g_S) and log-softmax(d_g).

    g_S, the student's global feature (see ``TSCAEEncoderOutput``), is the
    soft target; d_g, the decoder's global query output, is the prediction.

    The defaults are the reference's, whose trivial solution is one peaked
    g_S shared by every image. The switches against it are DINO's (Caron et
    al., 2021): a stop-gradient on the target, a running center subtracted
    from g_S before its softmax (so no channel can win for every image) and
    a lower target temperature (sharpening, so the target cannot go
    uniform either).

    Args:
        temperature (float): The prediction is taken at
            ``d_g / temperature``, and so is the target unless
            ``target_temperature`` is given. Defaults to 1 (the reference's).
        target_temperature (float, optional): Temperature of the target's
            softmax; below ``temperature`` it sharpens the target (DINO:
            0.04 against 0.1). Defaults to None (= ``temperature``).
        stop_grad_target (bool): Detach g_S. Defaults to False: the reference
            lets the gradient reach the student through the target too.
        center_momentum (float, optional): Keep a running mean of g_S over
            training steps (all processes' batches), ``center = m * center +
            (1 - m) * batch mean``, and subtract it from g_S in the target.
            DINO uses 0.9. Defaults to None (no centering).
        loss_weight (float): Weight of this term. Defaults to 1.
        embed_dims (int, optional): Width D of g_S, for the center. Needed
            with ``center_momentum``; :class:`TSCAE` fills in its encoder's
            width. Defaults to None.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 temperature: float = 1.,
                 target_temperature: Optional[float] = None,
                 stop_grad_target: bool = False,
                 center_momentum: Optional[float] = None,
                 loss_weight: float = 1.,
                 embed_dims: Optional[int] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if target_temperature is None:
            target_temperature = temperature
        for name, value in (('temperature', temperature),
                            ('target_temperature', target_temperature)):
            if value <= 0:
                raise ValueError(f'TSCAEGlobalConsistencyHead: {name} must be '
                                 f'positive, got {value}.')
        if center_momentum is not None and not 0 <= center_momentum < 1:
            raise ValueError('TSCAEGlobalConsistencyHead: center_momentum '
                             f'must be in [0, 1), got {center_momentum}.')
        self.temperature = temperature
        self.target_temperature = target_temperature
        self.stop_grad_target = stop_grad_target
        self.center_momentum = center_momentum
        self.loss_weight = loss_weight
        if center_momentum is not None:
            if embed_dims is None:
                raise ValueError(
                    'TSCAEGlobalConsistencyHead: center_momentum needs '
                    "embed_dims (the encoder's width) for the center; TSCAE "
                    'fills it in, a head built alone must be given it.')
            self.register_buffer('center', torch.zeros(1, embed_dims))

    def loss(self, decoded_global: torch.Tensor,
             student_global: torch.Tensor) -> torch.Tensor:
        """Weighted cross-entropy, averaged over the batch.

        Args:
            decoded_global (Tensor): d_g, (N, D).
            student_global (Tensor): g_S, (N, D).

        Returns:
            Tensor: scalar loss.
        """
        if self.stop_grad_target:
            student_global = student_global.detach()
        target = student_global.float()
        if self.center_momentum is not None:
            if target.shape[-1] != self.center.shape[-1]:
                raise ValueError(
                    'TSCAEGlobalConsistencyHead: g_S is '
                    f'{target.shape[-1]} wide but the center is '
                    f'{self.center.shape[-1]}; set global_head.embed_dims to '
                    "the encoder's width.")
            target = target - self.center
            if self.training:
                self._update_center(student_global.detach().float())
        target = F.softmax(target / self.target_temperature, dim=-1)
        log_pred = F.log_softmax(
            decoded_global.float() / self.temperature, dim=-1)
        return self.loss_weight * -(target * log_pred).sum(dim=-1).mean()

    @torch.no_grad()
    def _update_center(self, student_global: torch.Tensor) -> None:
        """Move the center towards this step's mean g_S over all processes."""
        batch_mean = student_global.mean(dim=0, keepdim=True)
        all_reduce(batch_mean, op='mean')
        self.center.mul_(self.center_momentum).add_(
            batch_mean.to(self.center.dtype), alpha=1 - self.center_momentum)
