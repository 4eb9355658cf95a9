"""Mixed-precision training on CPU with MMEngine's ``AmpOptimWrapper``.

MMEngine 0.10.7's ``AmpOptimWrapper`` refuses to start without a GPU (or NPU,
MLU, MUSA), and its ``autocast`` supports only ``torch.bfloat16`` on CPU.
:class:`CPUAmpOptimWrapper` is the same wrapper for CPU runs: bfloat16
autocast and torch's CPU ``GradScaler``. ``tools/train.py --amp`` selects it
when CUDA is not available.
"""
from typing import Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

CPU_AMP_DTYPE = torch.bfloat16


def _cpu_grad_scaler(
        loss_scale: Union[str, float, dict]) -> torch.amp.GradScaler:
    """A CPU GradScaler configured like ``AmpOptimWrapper``'s ``loss_scale``.

    Args:
        loss_scale: ``'dynamic'`` (dynamic scaling), a float (static initial
            scale) or a dict of ``GradScaler`` keyword arguments.
    """
    if loss_scale == 'dynamic':
        return torch.amp.GradScaler('cpu')
    if isinstance(loss_scale, float):
        return torch.amp.GradScaler('cpu', init_scale=loss_scale)
    if isinstance(loss_scale, dict):
        return torch.amp.GradScaler('cpu', **loss_scale)
    raise TypeError('CPUAmpOptimWrapper: loss_scale must be "dynamic", a '
                    f'float or a dict of GradScaler arguments, got '
                    f'{loss_scale!r}.')


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` for CPU: bfloat16 autocast with loss scaling.

    Args:
        loss_scale: As for ``AmpOptimWrapper``: ``'dynamic'``, a float
            (static scale) or a dict of ``torch.amp.GradScaler`` arguments.
            Defaults to ``'dynamic'``.
        dtype: Autocast dtype; CPU autocast in MMEngine supports only
            ``'bfloat16'`` (the default).
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` as
            for ``OptimWrapper``.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = 'bfloat16',
                 **kwargs) -> None:
        if dtype not in (None, 'bfloat16', CPU_AMP_DTYPE):
            raise ValueError(
                f'CPUAmpOptimWrapper: dtype {dtype!r} is not supported; '
                "MMEngine's CPU autocast only runs bfloat16. Use "
                "dtype='bfloat16' (or leave it unset).")
        # AmpOptimWrapper.__init__ asserts a GPU; everything else it sets up
        # is done here for the CPU.
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = (
            loss_scale if isinstance(loss_scale, float) else None)
        self.loss_scaler = _cpu_grad_scaler(loss_scale)
        self.cast_dtype = CPU_AMP_DTYPE
