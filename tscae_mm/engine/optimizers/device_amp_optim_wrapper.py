"""Mixed precision that fits the device: MMEngine's ``AmpOptimWrapper``
where it runs (CUDA, NPU, MLU, MUSA), bfloat16 autocast on CPU.

MMEngine 0.10.7's ``AmpOptimWrapper`` refuses to start without an
accelerator, so an AMP config fails on CPU under the toolboxes' own
``tools/train.py`` (ours switches the wrapper itself,
:func:`tscae_mm.utils.launch.fit_amp_to_device`). A config that says
``optim_wrapper = dict(type='DeviceAmpOptimWrapper', loss_scale='dynamic',
...)`` trains everywhere: on an accelerator it *is* ``AmpOptimWrapper``
(float16 by default, the configured loss scaling); on CPU it runs the
forward pass under bfloat16 autocast without loss scaling, as
:class:`~.CPUAmpOptimWrapper` does (bfloat16 has float32's exponent range,
so gradients do not underflow), and ``loss_scale`` is checked but unused.
"""
from typing import Optional, Union

import torch
from mmengine.device import (
    is_cuda_available,
    is_mlu_available,
    is_musa_available,
    is_npu_available,
)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .cpu_amp_optim_wrapper import CPU_AMP_DTYPE


def amp_device_available() -> bool:
    """Whether MMEngine's ``AmpOptimWrapper`` can run here."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _check_loss_scale(loss_scale) -> None:
    """The values ``AmpOptimWrapper`` accepts, checked on CPU too, so a
    config that would fail on a GPU fails on a CPU check as well."""
    if loss_scale == 'dynamic' or isinstance(loss_scale, (float, dict)):
        return
    raise TypeError(
        f"DeviceAmpOptimWrapper: loss_scale must be 'dynamic', a float "
        f'(a fixed initial scale) or a dict of GradScaler arguments, got '
        f'{loss_scale!r}.')


@OPTIM_WRAPPERS.register_module()
class DeviceAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` on an accelerator, bfloat16 autocast on CPU.

    Args:
        loss_scale (str | float | dict): As for ``AmpOptimWrapper``; used
            on an accelerator, checked and unused on CPU. Defaults to
            ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype on an
            accelerator (None: float16). On CPU the dtype is bfloat16
            whatever is set (a log line says so when another was set).
        use_fsdp (bool): ``ShardedGradScaler`` for FSDP on an accelerator
            (``TSCAEFSDPStrategy`` sets it, as MMEngine's FSDP strategy
            does for ``AmpOptimWrapper``); unused on CPU.
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` as
            for ``OptimWrapper``.

    Attributes:
        loss_scaler: The ``GradScaler`` on an accelerator, None on CPU.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        if amp_device_available():
            super().__init__(
                loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp,
                **kwargs)
            return
        _check_loss_scale(loss_scale)
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = None
        self.cast_dtype = CPU_AMP_DTYPE
        chosen = '' if dtype in (None, 'bfloat16', CPU_AMP_DTYPE) else (
            f' instead of the configured dtype {dtype!r}')
        print_log(
            f'DeviceAmpOptimWrapper: no GPU, mixed precision runs on CPU in '
            f'bfloat16{chosen}, without loss scaling (bfloat16 has '
            "float32's exponent range; loss_scale is used on GPUs only).",
            logger='current')

    @property
    def on_cpu(self) -> bool:
        """True where the wrapper runs bfloat16 on CPU (no loss scaler)."""
        return self.loss_scaler is None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.on_cpu:
            return OptimWrapper.backward(self, loss, **kwargs)
        return super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        if self.on_cpu:
            return OptimWrapper.step(self, **kwargs)
        return super().step(**kwargs)

    def state_dict(self) -> dict:
        if self.on_cpu:
            return OptimWrapper.state_dict(self)
        return super().state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state; on CPU a checkpoint's ``loss_scaler``
        entry (written on a GPU) is dropped, as there is no scaler."""
        if self.on_cpu:
            state_dict = dict(state_dict)
            state_dict.pop('loss_scaler', None)
            return OptimWrapper.load_state_dict(self, state_dict)
        return super().load_state_dict(state_dict)
