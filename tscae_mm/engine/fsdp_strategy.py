"""FSDP through MMEngine's ``FlexibleRunner``, on GPUs and on CPU (gloo).

- :class:`TSCAEFSDPStrategy`: MMEngine's ``FSDPStrategy`` with full
  (unsharded, DDP-like) checkpoints by default. MMEngine 0.10.7 wraps the
  model with ``device_id=int(LOCAL_RANK)``, a CUDA device; without CUDA this
  strategy passes ``torch.device('cpu')`` instead and drops FSDP's
  ``mixed_precision`` (bfloat16 collectives are a GPU feature here; CPU
  mixed precision is ``--amp``'s autocast), saying so in the log.
- Optimizer states are saved and loaded through FSDP's keyword API: MMEngine
  0.10.7 passes ``optim_state_dict_to_load``'s arguments in the order of an
  older torch (it fails on torch 2.x), and hands FSDP the optimizer wrapper
  rather than the optimizer; the wrapper's own state (an AMP loss scaler)
  is kept beside the optimizer's. On a CPU compute device the gathered
  states are copied out of torch's gather buffer
  (:func:`own_gathered_optimizer_states`).
- :func:`transformer_block_wrap_policy`: FSDP auto-wrap policy that makes
  one FSDP unit per transformer block (the encoder's and the decoder's), so
  a block's full weights exist only while that block runs.

Select them in a config (``configs/_base_/fsdp.py`` holds the defaults)::

    runner_type = 'ReliableFlexibleRunner'
    strategy = dict(
        type='TSCAEFSDPStrategy',
        model_wrapper=dict(
            auto_wrap_policy=dict(type='transformer_block_wrap_policy')))

or add ``--fsdp`` to ``tools/train.py`` / ``tools/dist_train.sh``.
"""
import contextlib
import copy
from typing import Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.distributed as torch_dist
from mmengine._strategy import FSDPStrategy
from mmengine.logging import print_log
from mmengine.registry import FUNCTIONS, STRATEGIES
from mmpretrain.models.backbones.vision_transformer import (
    TransformerEncoderLayer,
)
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from ..models.teacher_decoder import CrossAttentionDecoderLayer

DEFAULT_WRAPPER = 'MMFullyShardedDataParallel'
BLOCK_CLASSES: Tuple[type, ...] = (TransformerEncoderLayer,
                                   CrossAttentionDecoderLayer)


@FUNCTIONS.register_module()
def transformer_block_wrap_policy(
        module: nn.Module,
        recurse: bool,
        nonwrapped_numel: int,
        block_classes: Optional[Sequence[Union[str, type]]] = None) -> bool:
    """FSDP auto-wrap policy: an FSDP unit for every transformer block.

    Follows FSDP's callable-policy protocol (``recurse=True``: may FSDP look
    inside ``module``; ``recurse=False``: wrap ``module`` itself?).

    Args:
        module: The module FSDP asks about.
        recurse: Whether FSDP asks about descending into ``module``.
        nonwrapped_numel: Parameters not yet wrapped below (unused).
        block_classes: Classes (or class names) to wrap; defaults to
            mmpretrain's ``TransformerEncoderLayer`` (the ViT encoder's
            blocks) and TSCAE's ``CrossAttentionDecoderLayer``.
    """
    if recurse:
        return True
    classes = BLOCK_CLASSES if block_classes is None else block_classes
    return any(
        type(module).__name__ == cls if isinstance(cls, str) else isinstance(
            module, cls) for cls in classes)


@contextlib.contextmanager
def own_gathered_optimizer_states() -> Iterator[None]:
    """Work around torch's full optimizer state dict on a CPU device.

    ``FSDP.optim_state_dict`` (torch 2.x, ``_optim_utils.
    _allgather_orig_param_states``) all-gathers each optimizer state of a
    flat parameter into one buffer that it reuses for the next state, and
    counts on the offload to CPU (``.cpu()``) to copy the values out. When
    the compute device is the CPU, ``.cpu()`` copies nothing, so every state
    is left a view of the last one gathered: measured on torch 2.14.1, the
    saved ``exp_avg`` of AdamW equalled ``exp_avg_sq`` and a resumed run
    diverged from the uninterrupted one. Inside this block the states of a
    CPU-device FSDP module are copied as soon as they are unflattened.
    """
    from torch.distributed.fsdp import _optim_utils
    unflatten = _optim_utils._unflatten_orig_param_states

    def unflatten_and_copy(fsdp_param_info, output_states, state_name, *args,
                           **kwargs):
        unflatten(fsdp_param_info, output_states, state_name, *args,
                  **kwargs)
        if fsdp_param_info.state.compute_device.type != 'cpu':
            return
        for states in output_states.values():
            value = states.get(state_name)
            if isinstance(value, torch.Tensor):
                states[state_name] = value.clone()

    _optim_utils._unflatten_orig_param_states = unflatten_and_copy
    try:
        yield
    finally:
        _optim_utils._unflatten_orig_param_states = unflatten


@STRATEGIES.register_module()
class TSCAEFSDPStrategy(FSDPStrategy):
    """MMEngine's ``FSDPStrategy`` that also trains without CUDA.

    Args:
        state_dict_cfg (str | dict): As in ``FSDPStrategy``, but defaults to
            ``'full'``: rank 0 writes one ordinary checkpoint, the same keys
            as a DDP run's, which ``tools/extract_backbone.py``,
            ``init_cfg=dict(type='Pretrained')`` and ``load_from`` read as
            they are. (``'local'`` writes one shard per rank in a folder.)
        **kwargs: Other ``FSDPStrategy`` arguments (``model_wrapper``,
            ``activation_checkpointing``, ``skip_init_weights``, ...).
    """

    def __init__(self,
                 *,
                 state_dict_cfg: Union[str, dict] = 'full',
                 **kwargs) -> None:
        super().__init__(state_dict_cfg=state_dict_cfg, **kwargs)
        self.full_state_shapes = {}

    def build_model(self, model: Union[nn.Module, dict]) -> nn.Module:
        """Build as ``FSDPStrategy`` and record the unsharded weights'
        names and shapes (for checking checkpoints against the model)."""
        model = super().build_model(model)
        self.full_state_shapes = {
            name: tuple(value.shape)
            for name, value in model.state_dict().items()
        }
        return model

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        """Wrap in FSDP; on CPU with ``device_id=torch.device('cpu')``.

        Raises:
            RuntimeError: no process group (not started by ``torchrun``,
                ``tools/dist_train.sh`` or slurm with ``--launcher``).
        """
        if not torch_dist.is_initialized():
            raise RuntimeError(
                'TSCAEFSDPStrategy needs a distributed launch (FSDP shards '
                'the model over a process group): run `bash '
                'tools/dist_train.sh CONFIG NUM_PROCESSES` (NUM_PROCESSES '
                'may be 1) or tools/train.py with --launcher pytorch / '
                'slurm, or drop the strategy to train with the plain Runner.')
        wrapper = copy.deepcopy(dict(self.model_wrapper or {}))
        wrapper.setdefault('type', DEFAULT_WRAPPER)
        if not torch.cuda.is_available():
            wrapper.setdefault('device_id', torch.device('cpu'))
            if wrapper.pop('mixed_precision', None) is not None:
                print_log(
                    'TSCAEFSDPStrategy: CUDA is not available, so FSDP '
                    'mixed_precision is dropped and parameters, gradients '
                    'and collectives stay float32 (use --amp for bfloat16 '
                    'autocast on CPU).',
                    logger='current')
        configured, self.model_wrapper = self.model_wrapper, wrapper
        try:  # FSDP's wrapper pops keys of the dicts it is given
            return super()._wrap_model(model)
        finally:
            self.model_wrapper = configured

    def optim_state_dict(self) -> dict:
        """The optimizer state (full on rank 0 with ``state_dict_cfg=
        'full'``, keyed by parameter names), plus the wrapper's own entries
        (e.g. ``loss_scaler``)."""
        wrapper_state = self.optim_wrapper.state_dict()
        with own_gathered_optimizer_states():
            state = FSDP.optim_state_dict(
                model=self.model, optim=self.optim_wrapper.optimizer)
        state.update({
            key: value
            for key, value in wrapper_state.items()
            if key not in ('state', 'param_groups')
        })
        return state

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load a state written by :meth:`optim_state_dict` into this rank's
        shards of the optimizer (and the wrapper's own entries). A state
        written without FSDP (DDP, one process: keyed by position) is first
        keyed by parameter name (:meth:`optimizer_state_by_name`), so a DDP
        run can be resumed under FSDP."""
        state_dict = self.optimizer_state_by_name(state_dict)
        extras = {
            key: value
            for key, value in state_dict.items()
            if key not in ('state', 'param_groups')
        }
        optimizer_state = FSDP.optim_state_dict_to_load(
            model=self.model,
            optim=self.optim_wrapper.optimizer,
            optim_state_dict={
                key: state_dict[key]
                for key in ('state', 'param_groups')
            })
        self.optim_wrapper.load_state_dict({**optimizer_state, **extras})

    def optimizer_state_by_name(self, state_dict: dict) -> dict:
        """An optimizer state keyed by position (as ``Optimizer.state_dict``
        writes it under DDP) keyed by parameter name instead, as FSDP's full
        optimizer state is; a state keyed by name is returned as it is.

        Positions are matched to this optimizer's parameters in the order
        of its parameter groups, which the optimizer constructor builds in
        the model's module order with and without FSDP.

        Raises:
            ValueError: the state's parameter groups do not match this
                optimizer's (another model or optimizer configuration).
        """
        positions = [
            index for group in state_dict['param_groups']
            for index in group['params']
        ]
        if all(isinstance(index, str) for index in positions):
            return state_dict
        names_by_id = {
            id(param): name.replace('_fsdp_wrapped_module.', '').replace(
                '_checkpoint_wrapped_module.', '')
            for name, param in self.model.named_parameters()
        }
        groups = self.optim_wrapper.optimizer.param_groups
        names = [names_by_id.get(id(p)) for g in groups for p in g['params']]
        sizes = [len(g['params']) for g in state_dict['param_groups']]
        if None in names or sizes != [len(g['params']) for g in groups]:
            raise ValueError(
                'The checkpoint\'s optimizer state does not fit this '
                f'optimizer: parameter groups of sizes {sizes} against '
                f'{[len(g["params"]) for g in groups]}. Resume with the '
                'config that wrote it, or start from its weights with '
                'load_from=CHECKPOINT (a new optimizer state).')
        name_of = dict(zip(positions, names))
        return dict(
            state_dict,
            state={
                name_of[index]: value
                for index, value in state_dict['state'].items()
            },
            param_groups=[
                dict(group, params=[name_of[i] for i in group['params']])
                for group in state_dict['param_groups']
            ])
