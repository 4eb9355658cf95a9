"""Layer-wise learning-rate decay for any model whose backbone is a ViT.

MMPretrain's :class:`LearningRateDecayOptimWrapperConstructor` asks the
*model* for ``get_layer_depth``, which MMDetection detectors and
MMSegmentation segmentors do not have, and MMSegmentation's own layer-decay
constructor only knows its BEiT / ConvNeXt names. This constructor asks the
model's *backbone* instead (:meth:`TSCAEViT.get_layer_depth`, inherited from
mmpretrain's ``VisionTransformer``): the stem (patch embedding, position
embedding, cls token) is depth 0, block ``i`` is depth ``i + 1``, and
everything else (final norm, feature pyramid, neck, heads) is the top depth,
so it keeps the full learning rate. A parameter at depth ``d`` of ``D``
depths gets ``lr * layer_decay_rate ** (D - 1 - d)``.

It is registered in MMEngine's root ``OPTIM_WRAPPER_CONSTRUCTORS``, which the
registries of MMPretrain, MMDetection and MMSegmentation fall back to, so one
name works whatever the config's ``default_scope``::

    optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        constructor='BackboneLayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(
            layer_decay_rate=0.65,
            norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.,
            custom_keys={'.pos_embed': dict(decay_mult=0.),
                         '.cls_token': dict(decay_mult=0.)}))

The ``paramwise_cfg`` keys are those of mmpretrain's constructor
(``layer_decay_rate``, ``norm_decay_mult``, ``bias_decay_mult``,
``flat_decay_mult``, ``custom_keys`` with ``decay_mult``); each parameter
group also records ``lr_scale``, ``layer_id`` and ``param_name``.
"""
from typing import Callable, List, Optional, Tuple

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmpretrain.engine.optimizers import (
    LearningRateDecayOptimWrapperConstructor,
)
from torch import nn

BACKBONE_PREFIX = 'backbone.'


def model_layer_depth(model: nn.Module) -> Callable[[str], Tuple[int, int]]:
    """The depth function of a whole model, from its backbone.

    Args:
        model (nn.Module): A detector, segmentor or classifier with a
            ``backbone`` attribute that has ``get_layer_depth(name, prefix)``,
            or such a backbone itself.

    Returns:
        Callable: maps a parameter name of ``model`` to
        ``(layer_depth, num_depths)``.

    Raises:
        TypeError: neither the model's backbone nor the model has
            ``get_layer_depth``.
    """
    backbone = getattr(model, 'backbone', None)
    if hasattr(backbone, 'get_layer_depth'):
        return lambda name: backbone.get_layer_depth(name, BACKBONE_PREFIX)
    if hasattr(model, 'get_layer_depth') and backbone is None:
        return model.get_layer_depth
    raise TypeError(
        f'BackboneLayerDecayOptimWrapperConstructor needs a model whose '
        f'`backbone` has get_layer_depth(param_name, prefix) (e.g. '
        f'TSCAEViT or VisionTransformer); {type(model).__name__} has backbone '
        f'{type(backbone).__name__}. Use another optim_wrapper constructor '
        f'or a ViT backbone.')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """Layer-wise lr decay by the backbone's depth (see module docstring).

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config (``optimizer``
            with ``lr`` and ``weight_decay``, ``type``, ...).
        paramwise_cfg (dict, optional): ``layer_decay_rate`` and the weight
            decay rules listed in the module docstring.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        """Add ``module``'s parameters to ``params``, one group each.

        Args:
            params (list[dict]): Parameter groups, extended in place.
            module (nn.Module): The model (top call) or a sub-module.
            prefix (str): Name prefix of ``module`` inside the model.
            get_layer_depth (Callable, optional): Depth function; the top
                call derives it from the model's backbone.
        """
        if get_layer_depth is None:
            get_layer_depth = model_layer_depth(module)
        super().add_params(
            params,
            module,
            prefix=prefix,
            get_layer_depth=get_layer_depth,
            **kwargs)
