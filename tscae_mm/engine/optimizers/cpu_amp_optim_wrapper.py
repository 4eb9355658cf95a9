"""Mixed-precision training on CPU: bfloat16 autocast, no loss scaling.

MMEngine 0.10.7's ``AmpOptimWrapper`` refuses to start without a GPU (or
NPU, MLU, MUSA), and MMEngine's ``autocast`` runs only ``torch.bfloat16`` on
CPU. bfloat16 has float32's exponent range, so gradients do not underflow
and need no loss scaling (the reason float16 AMP scales the loss).
:class:`CPUAmpOptimWrapper` is therefore MMEngine's plain ``OptimWrapper``
(its whole set-up: accumulation, gradient clipping) with the forward pass
under bfloat16 autocast. ``tools/train.py --amp`` selects it when CUDA is not
available (:func:`tscae_mm.utils.launch.fit_amp_to_device`), dropping the
config's ``loss_scale``.
"""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner.amp import autocast

CPU_AMP_DTYPE = torch.bfloat16


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under bfloat16 autocast.

    Args:
        dtype: Autocast dtype; CPU autocast in MMEngine supports only
            ``'bfloat16'`` (the default).
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` as
            for ``OptimWrapper``. ``loss_scale`` (an ``AmpOptimWrapper``
            argument) is refused: bfloat16 needs no loss scaling.
    """

    def __init__(self,
                 dtype: Optional[Union[str, torch.dtype]] = 'bfloat16',
                 **kwargs) -> None:
        if dtype not in (None, 'bfloat16', CPU_AMP_DTYPE):
            raise ValueError(
                f'CPUAmpOptimWrapper: dtype {dtype!r} is not supported; '
                "MMEngine's CPU autocast only runs bfloat16. Use "
                "dtype='bfloat16' (or leave it unset).")
        if 'loss_scale' in kwargs:
            raise TypeError(
                'CPUAmpOptimWrapper takes no loss_scale: bfloat16 has '
                "float32's exponent range, so there is no loss scaling to "
                "configure. Remove optim_wrapper.loss_scale (tools/train.py "
                '--amp does this when it switches AmpOptimWrapper to this '
                'wrapper on CPU).')
        super().__init__(**kwargs)
        self.cast_dtype = CPU_AMP_DTYPE

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """The parent's context (gradient accumulation) with the forward
        pass under bfloat16 autocast."""
        with super().optim_context(model), autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state; the ``loss_scaler`` entry of a
        checkpoint written by an earlier, loss-scaling version (or by
        ``AmpOptimWrapper``) is dropped, as there is no scaler to restore."""
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)
