"""BatchNorm synchronised across processes on any device (CPU gloo too)."""
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from mmengine.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm


@MODELS.register_module('SyncBNAnyDevice')
class SyncBatchNormAnyDevice(_BatchNorm):
    """BatchNorm whose batch statistics cover the batches of all processes.

    PyTorch's SyncBatchNorm (and DDP around it) refuses CPU modules. In
    training with more than one process, this layer computes the batch mean
    and variance over all processes with differentiable all-reduces (two
    passes: sum, then sum of squared deviations), on any device and with any
    backend, so its output and gradients equal those of one process holding
    the whole batch. Otherwise it is plain BatchNorm (same parameters and
    buffers, so checkpoints are interchangeable with ``BN1d`` / ``BN``). Use
    it as ``norm_cfg=dict(type='SyncBNAnyDevice')``.

    Args: as :class:`torch.nn.BatchNorm1d`, plus ``process_group`` (the
    group to synchronise over; defaults to all processes).
    """

    def __init__(self, *args, process_group=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                'SyncBatchNormAnyDevice expects (N, C) or '
                f'(N, C, *) input, got shape {tuple(input.shape)}.')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """(N, C) or (N, C, *) -> same shape."""
        self._check_input_dim(input)
        if not self.synchronises_here():
            return super().forward(input)
        return self.synchronised_forward(input)

    def synchronises_here(self) -> bool:
        """True in training with more than one initialised process."""
        return (self.training and dist.is_available()
                and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1)

    def synchronised_forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise with statistics over the batches of all processes."""
        group = self.process_group or dist.group.WORLD
        channels = input.shape[1]
        reduce_dims = [0] + list(range(2, input.dim()))
        per_channel = [1, channels] + [1] * (input.dim() - 2)
        local_count = input.new_tensor([input.numel() // channels])
        sums = dist_fn.all_reduce(
            torch.cat([input.sum(reduce_dims), local_count]), group=group)
        count = sums[-1]
        mean = sums[:channels] / count
        centred = input - mean.view(per_channel)
        var = dist_fn.all_reduce(
            (centred * centred).sum(reduce_dims), group=group) / count
        self.update_running_stats(mean.detach(), var.detach(), count.item())
        output = centred * torch.rsqrt(var + self.eps).view(per_channel)
        if self.affine:
            output = (
                output * self.weight.view(per_channel) +
                self.bias.view(per_channel))
        return output

    @torch.no_grad()
    def update_running_stats(self, mean: torch.Tensor, var: torch.Tensor,
                             count: float) -> None:
        """Move the running statistics as BatchNorm does (unbiased var)."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        momentum = (1.0 / self.num_batches_tracked.item()
                    if self.momentum is None else self.momentum)
        unbiased = var * count / max(count - 1, 1)
        self.running_mean.mul_(1 - momentum).add_(momentum * mean)
        self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
