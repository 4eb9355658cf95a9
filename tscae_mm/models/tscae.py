"""TSCAE: teacher-student complementary mask autoencoder."""
from typing import Dict, List

import numpy as np
import torch
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


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
        contrast_head (dict): :class:`TokenContrastHead` config.
        global_head (dict): :class:`GlobalConsistencyHead` config.
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
        self.global_head = MODELS.build(global_head)

    def extract_feat(self, inputs: torch.Tensor):
        """The encoder's plain features of the unmasked images."""
        return self.backbone(inputs, mask=None)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The three weighted TSCAE losses, each under its own key.

        Args:
            inputs (Tensor): Normalised images, (N, C, H, W).
            data_samples (list[DataSample]): Each holds ``mask``, (h, w)
                bool, True where the patch is hidden from the teacher.
        """
        mask = stack_masks(data_samples)
        enc = self.backbone(inputs, mask)  # teacher and student passes
        decoded_global, decoded_masked = self.neck(
            enc.teacher_visible, enc.ids_visible, enc.ids_masked)
        return dict(
            loss_pixel=self.head.loss(decoded_masked, inputs, enc.ids_masked),
            loss_contrast=self.contrast_head.loss(decoded_masked,
                                                  enc.student_masked),
            loss_global=self.global_head.loss(decoded_global,
                                              enc.student_global))


def stack_masks(data_samples: List[DataSample]) -> torch.Tensor:
    """Stack the samples' masks into an (N, h, w) bool tensor.

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
