"""Statistics that reveal collapsed representations.

A collapsed encoder maps different inputs (images, or the tokens of one
image) to nearly the same vector. For a batch of images this module measures:

- ``between_images_cos``: mean cosine similarity between the pooled features
  of different images (1.0: every image gets the same feature);
- ``within_image_cos``: mean cosine similarity between the output tokens of
  one image, averaged over images (1.0: one vector repeated at every
  position);
- ``effective_rank``: exp of the entropy of the normalised singular values
  of the centred pooled features (1: one direction carries everything; at
  most the feature width);
- ``same_position_between_images_cos``: mean cosine similarity between the
  tokens of different images at the same patch position (1.0: the tokens
  encode only where they are, the trivial solution a contrast between
  images at the same position, InfoNCE-style, cannot see).

``pass_stats`` reports them for TSCAE's own passes (teacher outputs at V,
student outputs at M, the student's pooled global feature), and
``plain_stats`` for the plain encoder that downstream tasks use.
"""
from typing import Dict

import torch
import torch.nn.functional as F


def mean_offdiag_cos(x: torch.Tensor) -> float:
    """Mean cosine similarity between different rows of (..., T, D) tensors
    (averaged over the leading dimensions)."""
    x = F.normalize(x.float(), dim=-1)
    sim = x @ x.transpose(-1, -2)
    t = sim.shape[-1]
    off = (sim.sum((-1, -2)) - sim.diagonal(dim1=-2, dim2=-1).sum(-1))
    return (off / (t * (t - 1))).mean().item()


def effective_rank(x: torch.Tensor) -> float:
    """exp(entropy) of the normalised singular values of centred (N, D)."""
    s = torch.linalg.svdvals(x.float() - x.float().mean(0))
    p = s / s.sum()
    return torch.exp(-(p * p.clamp_min(1e-12).log()).sum()).item()


@torch.no_grad()
def plain_stats(backbone, images: torch.Tensor) -> Dict[str, float]:
    """The plain encoder (all patches, no mask): what transfers downstream.

    ``backbone`` is a TSCAEViT (any mode) or another mmpretrain ViT whose
    ``forward`` honours ``out_type='raw'`` semantics through its layers; the
    tokens are taken after the final norm.
    """
    tokens = _plain_tokens(backbone, images)[:, 1:]  # drop cls
    pooled = tokens.mean(1)
    return dict(
        between_images_cos=mean_offdiag_cos(pooled),
        within_image_cos=mean_offdiag_cos(tokens),
        effective_rank=effective_rank(pooled),
        same_position_between_images_cos=mean_offdiag_cos(
            tokens.transpose(0, 1)))


def _plain_tokens(backbone, images: torch.Tensor) -> torch.Tensor:
    x, _ = backbone.patch_embed(images)
    cls = (backbone.cls_token + backbone.pos_embed[:, :1]).expand(
        len(x), -1, -1)
    x = torch.cat([cls, x + backbone.pos_embed[:, 1:]], dim=1)
    x = backbone.pre_norm(x)
    for layer in backbone.layers:
        x = layer(x)
    return backbone.ln1(x) if backbone.final_norm else x


@torch.no_grad()
def pass_stats(model, images: torch.Tensor,
               mask: torch.Tensor) -> Dict[str, float]:
    """TSCAE's teacher and student passes on ``images`` with ``mask``; the
    student pass through the momentum encoder where the model has one.
    With (N, K, h, w) masks (``TSCAE(student_targets='sibling_views')``)
    the statistics are those of each image's first view, whose student
    side is read off its sibling views, so that the between-images
    statistics compare N different images."""
    target = getattr(model, 'target_encoder', None)
    if mask.dim() == 4:
        enc = model.backbone.sibling_view_passes(images, mask)
        enc = type(enc)(*(field[::mask.shape[1]] for field in enc))
    else:
        enc = model.backbone(
            images, mask, student_encoder=None if target is None else
            target.module)
    decoded_global, decoded_masked = model.neck(enc.teacher_visible,
                                                enc.ids_visible,
                                                enc.ids_masked)
    return dict(
        teacher_within_image_cos=mean_offdiag_cos(enc.teacher_visible),
        student_within_image_cos=mean_offdiag_cos(enc.student_masked),
        decoder_within_image_cos=mean_offdiag_cos(decoded_masked),
        student_global_between_images_cos=mean_offdiag_cos(
            enc.student_global),
        decoder_global_between_images_cos=mean_offdiag_cos(decoded_global))
