"""TSCAE: teacher-student complementary mask autoencoder."""
from typing import Dict, List, Optional

import numpy as np
import torch
from mmpretrain.models import BaseSelfSupervisor, CosineEMA
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

STUDENT_TARGETS = ('student_pass', 'sibling_views')


@MODELS.register_module()
class TSCAE(BaseSelfSupervisor):
    """Teacher-student complementary mask autoencoder.

    The same encoder runs a teacher pass on the patches at V and a student
    pass on the complementary patches at M. A cross-attention decoder reads
    the teacher's features and predicts, at M, the pixels (``head``) and the
    student's features (``contrast_head``), and with a global query the
    student's global feature (``global_head``).

    Args:
        backbone (dict): :class:`TSCAEViT` config with
            ``masked_pretraining=True``.
        neck (dict): :class:`TSCAETeacherDecoder` config.
        head (dict): :class:`TSCAEPixelHead` config.
        contrast_head (dict): :class:`TSCAETokenContrastHead` config.
        global_head (dict): :class:`TSCAEGlobalConsistencyHead` config.
        target_momentum (float, optional): Compute the student-side targets
            (h_S and g_S) with a momentum copy of the encoder (BYOL, iBOT,
            data2vec), kept by mmpretrain's :class:`CosineEMA`: each step
            moves it by this weight towards the online encoder (0.01: a
            teacher momentum of 0.99), annealed by cosine to
            ``target_end_momentum`` over the run. The student pass then runs
            without gradient. Defaults to None (the reference: no EMA).
        target_end_momentum (float): The weight at the end of training.
            Defaults to 0 (the copy is frozen at the end, as in BYOL).
        token_regularizer (dict, optional): Config of a loss on h_S alone,
            e.g. :class:`TokenVarianceCovarianceLoss`; with
            ``student_targets='sibling_views'`` on the teacher outputs at V
            (with gradient), the tokens whose detached copies are the
            siblings' targets. Defaults to None.
        student_targets (str): Where h_S and g_S come from.
            ``'student_pass'`` (the paper's): the student pass over M.
            ``'sibling_views'`` (ours; data2vec 2.0's several masked views
            sharing one target computation, EMAE's non-overlapping masks):
            each image comes with K views whose teacher-visible sets are
            disjoint and cover it (``ComplementaryMaskGenerator(num_views=K)``,
            masks (K, h, w)); the N images become N * K teacher sequences,
            run as one pass with gradient, and there is no student pass:
            view k's targets are the detached outputs of its sibling views
            (:meth:`TSCAEViT.sibling_view_passes`). Decoder and losses run
            per view as usual, on a batch of N * K. Encoder cost per view:
            MAE's (cls + |V| tokens, one forward and backward), targets
            free. Needs ``backbone.token_drop=True``, the one-way contrast
            (``contrast_head.symmetric=False``) and no ``target_momentum``;
            a ``token_regularizer`` then acts on the teacher outputs.
            Defaults to ``'student_pass'``.
        data_preprocessor (dict, optional): Defaults to mmpretrain's
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 contrast_head: dict,
                 global_head: dict,
                 target_momentum: Optional[float] = None,
                 target_end_momentum: float = 0.,
                 token_regularizer: Optional[dict] = None,
                 student_targets: str = 'student_pass',
                 pretrained=None,
                 data_preprocessor=None,
                 init_cfg=None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.contrast_head = MODELS.build(contrast_head)
        if global_head.get('center_momentum') is not None:
            global_head = dict(global_head)
            global_head.setdefault('embed_dims', self.backbone.embed_dims)
        self.global_head = MODELS.build(global_head)
        self.target_encoder = None
        if target_momentum is not None:
            if not 0 < target_momentum <= 1 or not \
                    0 <= target_end_momentum <= 1:
                raise ValueError(
                    'TSCAE: target_momentum and target_end_momentum are '
                    "CosineEMA's update weights (the new value's share), in "
                    f'(0, 1] and [0, 1]; got {target_momentum} and '
                    f'{target_end_momentum}. A teacher momentum of 0.99 is '
                    'target_momentum=0.01.')
            self.target_encoder = CosineEMA(
                self.backbone,
                momentum=target_momentum,
                end_momentum=target_end_momentum)
        self.token_regularizer = None if token_regularizer is None else \
            MODELS.build(token_regularizer)
        self.student_targets = student_targets
        self._check_student_targets()
        if not self.student_pass_trained and hasattr(self.backbone,
                                                      'visible_token'):
            # only the student pass reads it, and no loss trains that pass:
            # frozen, so DDP finds no unused parameter
            self.backbone.visible_token.requires_grad_(False)

    @property
    def student_pass_trained(self) -> bool:
        """Whether any loss sends a gradient into the student pass: not
        with a momentum target, nor when the contrast is one-way, the global
        target has a stop-gradient and no regulariser reads h_S; nor with
        sibling-view targets, where there is no student pass."""
        if (self.target_encoder is not None
                or self.student_targets == 'sibling_views'):
            return False
        return (getattr(self.contrast_head, 'symmetric', True)
                or not getattr(self.global_head, 'stop_grad_target', False)
                or self.token_regularizer is not None)

    def _check_student_targets(self) -> None:
        """Refuse ``student_targets`` values and combinations that cannot
        work, saying what to change."""
        if self.student_targets not in STUDENT_TARGETS:
            raise ValueError(
                f'TSCAE: student_targets must be one of {STUDENT_TARGETS}, '
                f'got {self.student_targets!r}.')
        if self.student_targets == 'student_pass':
            return
        conflicts = []
        if not getattr(self.backbone, 'token_drop', False):
            conflicts.append('backbone.token_drop=True (the views are '
                             'cls + V_k sequences, no placeholders)')
        if getattr(self.contrast_head, 'symmetric', False):
            conflicts.append('contrast_head.symmetric=False (the targets are '
                             'detached; the second direction trains nothing '
                             'in the encoder)')
        if self.target_encoder is not None:
            conflicts.append('no target_momentum (the siblings are the '
                             'targets)')
        if conflicts:
            raise ValueError("TSCAE: student_targets='sibling_views' needs " +
                             '; '.join(conflicts) + '.')

    def init_weights(self) -> None:
        """Initialise, then start the momentum copy equal to the encoder."""
        super().init_weights()
        if self.target_encoder is not None:
            self.target_encoder.module.load_state_dict(
                self.backbone.state_dict())

    def extract_feat(self, inputs: torch.Tensor):
        """The encoder's plain features of the unmasked images."""
        return self.backbone(inputs, mask=None)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The three weighted TSCAE losses, each under its own key.

        Args:
            inputs (Tensor): Normalised images, (N, C, H, W).
            data_samples (list[DataSample]): Each holds ``mask``, (h, w)
                bool, True where the patch is hidden from the teacher; with
                ``student_targets='sibling_views'`` (K, h, w), one per view.
        """
        mask = self._checked_views(stack_masks(data_samples))
        if self.student_targets == 'sibling_views':
            # N * K teacher sequences, one pass; targets from the siblings
            enc = self.backbone.sibling_view_passes(inputs, mask)
            inputs = inputs.repeat_interleave(mask.shape[1], dim=0)
        else:
            enc = self.backbone(  # teacher and student passes
                inputs, mask, student_encoder=self.student_encoder())
        decoded_global, decoded_masked = self.neck(
            enc.teacher_visible, enc.ids_visible, enc.ids_masked)
        losses = dict(
            loss_pixel=self.head.loss(decoded_masked, inputs, enc.ids_masked),
            loss_contrast=self.contrast_head.loss(decoded_masked,
                                                  enc.student_masked),
            loss_global=self.global_head.loss(decoded_global,
                                              enc.student_global))
        if self.token_regularizer is not None:
            losses['loss_token_reg'] = self.token_regularizer.loss(
                enc.teacher_visible if self.student_targets ==
                'sibling_views' else enc.student_masked)
        return losses

    def student_encoder(self) -> Optional[torch.nn.Module]:
        """The encoder that runs the student pass without gradient: the
        momentum copy (stepped towards the encoder first; once per training
        step), the encoder itself when no loss trains that pass (which saves
        its backward), or None: both passes as one batch, with gradient."""
        if self.target_encoder is not None:
            with torch.no_grad():
                self.target_encoder.update_parameters(self.backbone)
            return self.target_encoder.module
        if not self.student_pass_trained:
            return self.backbone
        return None

    def _checked_views(self, mask: torch.Tensor) -> torch.Tensor:
        """The (N, h, w) or (N, K, h, w) masks, if they suit
        ``student_targets``."""
        with_views = mask.dim() == 4
        if with_views != (self.student_targets == 'sibling_views'):
            raise ValueError(
                f'TSCAE: masks of shape {tuple(mask.shape[1:])} per image '
                f"but student_targets={self.student_targets!r}; K views per "
                'image ((K, h, w) masks from ComplementaryMaskGenerator('
                "num_views=K)) go with student_targets='sibling_views', "
                'one (h, w) mask with the default.')
        return mask


def stack_masks(data_samples: List[DataSample]) -> torch.Tensor:
    """Stack the samples' masks into an (N, h, w) bool tensor, or
    (N, K, h, w) for masks with K views.

    Masks packed from numpy arrays stay on the CPU, so splitting them into
    patch indices needs no device synchronisation.
    """
    if not data_samples or 'mask' not in data_samples[0]:
        raise KeyError(
            "TSCAE: the data samples carry no 'mask'; add "
            "dict(type='ComplementaryMaskGenerator', ...) and "
            "dict(type='PackInputs', algorithm_keys=['mask']) to the "
            'training pipeline.')
    masks = [sample.mask for sample in data_samples]
    if isinstance(masks[0], np.ndarray):
        return torch.from_numpy(np.stack(masks))
    return torch.stack([torch.as_tensor(m) for m in masks])
