"""Global consistency: the decoder's global query against the student."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class GlobalConsistencyHead(BaseModule):
    """Cross-entropy over channels between softmax(g_S) and log-softmax(d_g).

    g_S, the student's global feature (see ``TSCAEEncoderOutput``), is the
    soft target; d_g, the decoder's global query output, is the prediction.

    Args:
        temperature (float): Both distributions are taken at
            ``feature / temperature``. Defaults to 1 (the reference's).
        stop_grad_target (bool): Detach g_S. Defaults to False: the reference
            lets the gradient reach the student through the target too.
        loss_weight (float): Weight of this term. Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 temperature: float = 1.,
                 stop_grad_target: bool = False,
                 loss_weight: float = 1.,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError('GlobalConsistencyHead: temperature must be '
                             f'positive, got {temperature}.')
        self.temperature = temperature
        self.stop_grad_target = stop_grad_target
        self.loss_weight = loss_weight

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
        target = F.softmax(student_global.float() / self.temperature, dim=-1)
        log_pred = F.log_softmax(
            decoded_global.float() / self.temperature, dim=-1)
        return self.loss_weight * -(target * log_pred).sum(dim=-1).mean()
