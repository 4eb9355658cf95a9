"""FSDP through MMEngine's ``FlexibleRunner``, on GPUs and on CPU (gloo).

- :class:`TSCAEFSDPStrategy`: MMEngine's ``FSDPStrategy`` with full
  (unsharded, DDP-like) checkpoints by default, that also trains without
  CUDA (gloo) and saves and loads the optimizer state on torch 2.x; the
  workarounds this takes for MMEngine 0.10.7 and torch are in
  :mod:`tscae_mm.utils.compat` (section 3). The optimizer wrapper's own
  state (an AMP loss scaler) is kept beside the optimizer's, and a DDP run's
  optimizer state can be resumed under FSDP.
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
from typing import Optional, Sequence, Tuple, Union

import torch.distributed as torch_dist
from mmengine._strategy import FSDPStrategy
from mmengine.registry import FUNCTIONS, STRATEGIES
from mmpretrain.models.backbones.vision_transformer import (
    TransformerEncoderLayer,
)
from torch import nn

from ...models.necks.teacher_decoder import CrossAttentionDecoderLayer
from ...utils.compat import (
    fsdp_optim_state_dict,
    fsdp_optim_state_dict_to_load,
    fsdp_wrapper_for_cpu,
)
from ..optimizers import DeviceAmpOptimWrapper

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
        """Wrap in FSDP; without CUDA, with the CPU device
        (:func:`~tscae_mm.utils.compat.fsdp_wrapper_for_cpu`).

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
        wrapper = fsdp_wrapper_for_cpu(self.model_wrapper)
        configured, self.model_wrapper = self.model_wrapper, wrapper
        try:  # FSDP's wrapper pops keys of the dicts it is given
            return super()._wrap_model(model)
        finally:
            self.model_wrapper = configured

    def build_optim_wrapper(self, optim_wrapper, model=None):
        """Build as ``FSDPStrategy``; a ``DeviceAmpOptimWrapper`` gets
        ``use_fsdp=True`` (FSDP's sharded loss scaler on GPUs), as MMEngine
        gives it to ``AmpOptimWrapper``."""
        if isinstance(optim_wrapper, dict) and optim_wrapper.get('type') in (
                'DeviceAmpOptimWrapper', DeviceAmpOptimWrapper):
            optim_wrapper.setdefault('use_fsdp', True)
        return super().build_optim_wrapper(optim_wrapper, model)

    def optim_state_dict(self) -> dict:
        """The optimizer state (full on rank 0 with ``state_dict_cfg=
        'full'``, keyed by parameter names), plus the wrapper's own entries
        (e.g. ``loss_scaler``)."""
        wrapper_state = self.optim_wrapper.state_dict()
        state = fsdp_optim_state_dict(self.model,
                                      self.optim_wrapper.optimizer)
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
        optimizer_state = fsdp_optim_state_dict_to_load(
            self.model, self.optim_wrapper.optimizer, {
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
