"""Log the losses of the whole global batch, not rank 0's share of it."""
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class GlobalBatchLossHook(Hook):
    """Average the logged values of each iteration over the ranks.

    MMEngine logs what rank 0 computed on its part of the batch. This hook
    replaces each value of the iteration's outputs with its mean over the
    ranks before the runner records it. For losses that are means over
    equal per-rank shares (TSCAE's are) that is the loss of the global
    batch, so logs of runs with different numbers of processes at the same
    global batch size compare directly. It runs before RuntimeInfoHook and
    costs one small all-reduce per iteration.
    """

    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Replace ``outputs``' tensors by their mean over the ranks."""
        if not outputs or get_world_size() == 1:
            return
        keys = [
            key for key, value in outputs.items() if torch.is_tensor(value)
        ]
        values = torch.stack(
            [outputs[key].detach().float().reshape(()) for key in keys])
        all_reduce(values, op='mean')
        outputs.update(zip(keys, values))
