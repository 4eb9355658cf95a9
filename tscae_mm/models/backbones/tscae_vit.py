"""The TSCAE encoder: one ViT, run as the teacher pass and the student pass."""
from typing import NamedTuple, Optional, Tuple, Union

import torch
from mmcv.cnn.bricks.drop import DropPath
from mmengine.logging import MMLogger
from mmpretrain.models import VisionTransformer
from mmpretrain.models.backbones.vision_transformer import (
    TransformerEncoderLayer,
)
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..utils import (
    checked_pretrained_init,
    complementary_indices,
    gather_tokens,
    pretrained_init_cfg,
)

PLACEHOLDER_TOKENS = ('mask_token', 'visible_token')
# Weights a pre-training checkpoint lacks by design: the dense tasks' pyramid,
# the norm after global pooling (out_type='avg_featmap'), the placeholders.
NOT_PRETRAINED = ('feature_pyramid.', 'ln2.', *PLACEHOLDER_TOKENS)


class CheckpointedEncoderLayer(TransformerEncoderLayer):
    """mmpretrain's ViT block whose activations are recomputed in backward.

    While gradients are recorded, the block's forward runs under
    ``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)``: autograd
    keeps only the block's input and reruns the block (same random state,
    so the same drop-path) when the gradient reaches it. Same weights, names
    and results as :class:`TransformerEncoderLayer`; it is one (so FSDP's
    per-block wrapping finds it, and the recomputation runs inside the
    block's FSDP unit while its weights are gathered).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return checkpoint(super().forward, x, use_reentrant=False)
        return super().forward(x)


class TSCAEEncoderOutput(NamedTuple):
    """What the teacher and student passes hand to the decoder and losses.

    N images, D channels, |V| patches seen by the teacher, |M| = L - |V|
    patches seen by the student.

    Attributes:
        teacher_visible (Tensor): h_T, teacher outputs at V, (N, |V|, D).
        student_masked (Tensor): h_S, student outputs at M, (N, |M|, D).
        student_global (Tensor): g_S, the student's global feature, (N, D):
            the max over V of the student outputs where it saw only the
            placeholder (reference mode), or the student's cls output
            (token-drop mode, where V is not in the student's input).
        ids_visible (Tensor): patch indices of V, (N, |V|), int64.
        ids_masked (Tensor): patch indices of M, (N, |M|), int64.
    """
    teacher_visible: torch.Tensor
    student_masked: torch.Tensor
    student_global: torch.Tensor
    ids_visible: torch.Tensor
    ids_masked: torch.Tensor


@MODELS.register_module()
class TSCAEViT(VisionTransformer):
    """Vision Transformer encoder of TSCAE, and the same ViT downstream.

    With ``mask=None`` the forward is mmpretrain's plain
    :class:`VisionTransformer` (honouring ``out_type`` and ``out_indices``, and
    ``feature_pyramid`` when given); this is what classification, detection
    and segmentation use. With a mask it runs TSCAE's two passes through the
    same weights (the reference: no EMA, no stop-gradient), or the student
    pass through a momentum copy given as ``student_encoder``:

    - teacher pass: cls token, the patches at V (+ position) and, in the
      reference mode, the learned ``mask_token`` (no position) at M;
    - student pass: cls token, the patches at M (+ position) and, in the
      reference mode, the learned ``visible_token`` (no position) at V.

    In the reference mode both passes are full length and are run as one
    batch of 2N sequences. With ``token_drop=True`` the teacher sees only
    cls + V and the student only cls + M (as MAE's encoder does), about half
    the reference's encoder cost; the placeholder tokens then do not exist.
    :meth:`sibling_view_passes` runs, in token-drop mode, only teacher passes
    over K disjoint views per image and reads the student-side targets off
    the sibling views.

    Args:
        arch (str | dict): mmpretrain ViT arch name or dict with
            ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``. Note mmpretrain's ``'small'`` is 768
            wide and 8 deep; ViT-S/16 is ``'deit-small'``.
        img_size (int | tuple): Input size the position embedding is built
            for. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        masked_pretraining (bool): Build the encoder for TSCAE pre-training:
            fixed 2-D sin-cos position embedding and, unless ``token_drop``,
            the two placeholder tokens. Downstream leave it False; a TSCAE
            checkpoint's placeholder tokens are then dropped on load on
            purpose. Defaults to False.
        token_drop (bool): Token-dropping variant of the passes (see above).
            Defaults to False (reference mode).
        feature_pyramid (dict, optional): Config of a module that turns the
            tuple of ``(B, D, H, W)`` maps from ``out_indices`` into a
            multi-scale tuple (for FPN / UperNet necks). Requires
            ``out_type='featmap'``. Defaults to None.
        with_cp (bool): Activation checkpointing per transformer block
            (:class:`CheckpointedEncoderLayer`): about a third more encoder
            compute for far fewer stored activations. Works with and without
            DDP / FSDP, in pre-training and downstream. Defaults to False.
        out_type (str): Output of the plain forward, as in
            :class:`VisionTransformer`. Defaults to ``'cls_token'``.
        **kwargs: Other :class:`VisionTransformer` arguments (out_indices,
            drop_path_rate, final_norm, frozen_stages, interpolate_mode,
            norm_cfg, layer_cfgs, init_cfg, ...).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: Union[int, Tuple[int, int]] = 224,
                 patch_size: int = 16,
                 masked_pretraining: bool = False,
                 token_drop: bool = False,
                 feature_pyramid: Optional[dict] = None,
                 out_type: str = 'cls_token',
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False,
                 **kwargs) -> None:
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            out_type=out_type,
            norm_cfg=norm_cfg,
            with_cls_token=True,
            **kwargs)
        if token_drop and not masked_pretraining:
            raise ValueError('TSCAEViT: token_drop=True only applies to '
                             'masked pre-training; also set '
                             'masked_pretraining=True.')
        self.masked_pretraining = masked_pretraining
        self.token_drop = token_drop
        self.num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self._store_drop_path_rates_as_floats()
        self.with_cp = with_cp
        if with_cp:  # same module, checkpointed forward; no new state
            for layer in self.layers:
                layer.__class__ = CheckpointedEncoderLayer

        if masked_pretraining:
            self.pos_embed.requires_grad = False  # fixed sin-cos
        if masked_pretraining and not token_drop:
            self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
            self.visible_token = nn.Parameter(
                torch.zeros(1, 1, self.embed_dims))
        self._register_load_state_dict_pre_hook(
            self._drop_unused_placeholder_tokens)

        if feature_pyramid is not None:
            if out_type != 'featmap':
                raise ValueError(
                    "TSCAEViT: feature_pyramid needs out_type='featmap' "
                    f'(the pyramid is built from feature maps), got '
                    f'out_type={out_type!r}.')
            self.feature_pyramid = MODELS.build(feature_pyramid)
        else:
            self.feature_pyramid = None

    def _store_drop_path_rates_as_floats(self) -> None:
        """Turn the layers' stochastic-depth rates into Python floats.

        mmpretrain hands each layer a numpy float; torch.compile traces those
        as tensors and breaks the graph at every DropPath. Same values.
        """
        for module in self.modules():
            if isinstance(module, DropPath):
                module.drop_prob = float(module.drop_prob)

    def init_weights(self) -> None:
        """MAE-style initialisation for pre-training; plain ViT otherwise.

        With an ``init_cfg`` of type ``Pretrained`` the weights are loaded
        from the checkpoint and checked (:func:`checked_pretrained_init`): a
        checkpoint that holds (almost) none of this encoder's weights (wrong
        prefix, another architecture) raises, naming the checkpoint, how many
        matched and the fix; one that holds only some of them raises too,
        naming them, unless the init_cfg has ``allow_partial=True``.
        """
        if pretrained_init_cfg(self.init_cfg) is not None:
            with checked_pretrained_init(self, NOT_PRETRAINED):
                super().init_weights()
            return
        super().init_weights()
        if not self.masked_pretraining:
            return
        pos_embed = build_2d_sincos_position_embedding(
            self.patch_resolution, self.embed_dims, cls_token=True)
        self.pos_embed.data.copy_(pos_embed.float())
        w = self.patch_embed.projection.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.normal_(self.cls_token, std=.02)
        if not self.token_drop:
            nn.init.normal_(self.mask_token, std=.02)
            nn.init.normal_(self.visible_token, std=.02)

    def _drop_unused_placeholder_tokens(self, state_dict, prefix, *args,
                                        **kwargs) -> None:
        """Drop a checkpoint's placeholder tokens when this model has none."""
        dropped = [
            name for name in PLACEHOLDER_TOKENS
            if prefix + name in state_dict and not hasattr(self, name)
        ]
        for name in dropped:
            del state_dict[prefix + name]
        if dropped:
            MMLogger.get_current_instance().info(
                f'TSCAEViT: ignored the pre-training placeholder tokens '
                f'{dropped} of the checkpoint (not used by this model).')

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                student_encoder: Optional['TSCAEViT'] = None):
        """Plain ViT forward, or TSCAE's teacher and student passes.

        Args:
            x (Tensor): Images, (N, C, H, W).
            mask (Tensor, optional): Bool, (N, h, w) or (N, L), True where
                the patch is hidden from the teacher (it is in M). The number
                of True entries must be the same for every image. A CPU mask
                keeps index computation off the accelerator.
            student_encoder (TSCAEViT, optional): Run the student pass with
                this encoder instead, without gradient (the momentum target
                encoder of ``TSCAE(target_momentum=...)``). Defaults to None:
                both passes through these weights, as in the reference.

        Returns:
            tuple[Tensor] | TSCAEEncoderOutput: the plain ViT outputs when
            ``mask`` is None, else a :class:`TSCAEEncoderOutput`.
        """
        if mask is None:
            outs = super().forward(x)
            if self.feature_pyramid is not None:
                return self.feature_pyramid(outs)
            return outs
        if not self.masked_pretraining:
            raise RuntimeError('TSCAEViT: masked forward needs '
                               'masked_pretraining=True.')
        ids_visible, ids_masked = complementary_indices(mask, self.num_patches)
        ids_visible = ids_visible.to(x.device, non_blocking=True)
        ids_masked = ids_masked.to(x.device, non_blocking=True)
        hidden = mask.reshape(len(x), -1, 1).to(x.device, non_blocking=True)
        patches = self._embed_patches(x)
        teacher_in = self._teacher_input(patches, hidden, ids_visible)
        if student_encoder is not None:
            teacher_out = self._encode(teacher_in)
            with torch.no_grad():
                student_out = student_encoder.student_pass(
                    x, hidden, ids_masked)
        elif self.token_drop:
            teacher_out = self._encode(teacher_in)
            student_out = self._encode(
                self._student_input(patches, hidden, ids_masked))
        else:  # one batch of 2N full-length sequences
            student_in = self._student_input(patches, hidden, ids_masked)
            teacher_out, student_out = self._encode(
                torch.cat([teacher_in, student_in])).chunk(2)
        return self._split_outputs(teacher_out, student_out, ids_visible,
                                   ids_masked)

    def sibling_view_passes(self, x: torch.Tensor,
                            mask: torch.Tensor) -> TSCAEEncoderOutput:
        """One teacher pass over K views per image; targets from the siblings.

        The K views of an image see pairwise disjoint patch sets V_1..V_K
        that cover all L patches (``ComplementaryMaskGenerator(num_views=K)``),
        so the patches view k does not see, M_k, are exactly what its K - 1
        sibling views saw. The patches are embedded once per image and
        gathered per view; the N * K sequences cls + V_k then run through the
        encoder as one batch, with gradient (token-drop mode only). There is
        no student pass: the student-side targets are read off this pass and
        detached,

        - h_S of view k at a position p of M_k: the output at p of the sibling
          view that saw p (a copy, bit for bit);
        - g_S of view k: the mean of the K - 1 sibling views' cls outputs.
          The mean rather than the max: it stays on the scale of one cls
          output after the final norm (what g_S is in token-drop mode), so
          the global head's temperatures keep their meaning, and it weighs
          the siblings' disjoint shares of M_k equally.

        Encoder cost per view: one forward and backward over cls + |V| tokens
        (MAE's encoder cost); the targets cost nothing more.

        Args:
            x (Tensor): Images, (N, C, H, W).
            mask (Tensor): Bool, (N, K, h, w) or (N, K, L), True where the
                teacher of view k does not see the patch (it is in M_k).

        Returns:
            TSCAEEncoderOutput: for N * K sequences, the views of an image
            next to each other (row ``n * K + k`` is view k of image n):
            ``teacher_visible`` (N * K, |V|, D) with gradient,
            ``student_masked`` (N * K, |M|, D) and ``student_global``
            (N * K, D) without, ``ids_visible`` (N * K, |V|) and
            ``ids_masked`` (N * K, |M|).
        """
        if not self.token_drop:
            raise RuntimeError('TSCAEViT: sibling-view passes need the '
                               'token-drop passes; set token_drop=True.')
        views = torch.as_tensor(mask).reshape(*mask.shape[:2], -1).bool()
        num_images, num_views = views.shape[:2]
        seen = (~views).sum(dim=1)  # per patch: how many views see it
        if num_views < 2 or bool((seen != 1).any()):
            raise ValueError(
                'TSCAEViT: sibling-view passes need K >= 2 views per image '
                'whose visible patches are disjoint and cover the image; got '
                f'{num_views} view(s) covering patches '
                f'{seen.min().item()} to {seen.max().item()} times. Make the '
                'masks with ComplementaryMaskGenerator(num_views=K).')
        ids_visible, ids_masked = complementary_indices(
            views.flatten(0, 1), self.num_patches)
        ids_visible = ids_visible.to(x.device, non_blocking=True)
        ids_masked = ids_masked.to(x.device, non_blocking=True)
        patches = self._embed_patches(x)  # (N, L, D), once per image
        teacher_in = gather_tokens(  # (N * K, |V|, D)
            patches, ids_visible.reshape(num_images, -1)).reshape(
                num_images * num_views, -1, patches.shape[-1])
        teacher_out = self._encode(teacher_in)  # (N * K, 1 + |V|, D)
        targets = teacher_out.detach()
        return TSCAEEncoderOutput(
            teacher_visible=teacher_out[:, 1:],
            student_masked=sibling_tokens(targets[:, 1:], ids_visible,
                                          ids_masked, num_images),
            student_global=sibling_mean(targets[:, 0], num_views),
            ids_visible=ids_visible,
            ids_masked=ids_masked)

    def student_pass(self, x: torch.Tensor, hidden: torch.Tensor,
                     ids_masked: torch.Tensor) -> torch.Tensor:
        """The student pass alone: (N, 1 + T, D) outputs, cls first.

        Args:
            x (Tensor): Images, (N, C, H, W).
            hidden (Tensor): Bool, (N, L, 1), True at M.
            ids_masked (Tensor): Patch indices of M, (N, |M|).
        """
        return self._encode(
            self._student_input(self._embed_patches(x), hidden, ids_masked))

    def _embed_patches(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, L, D) patch tokens with their positions."""
        return self.patch_embed(x)[0] + self.pos_embed[:, 1:]

    def _teacher_input(self, patches: torch.Tensor, hidden: torch.Tensor,
                       ids_visible: torch.Tensor) -> torch.Tensor:
        """Patches at V; at M the ``mask_token`` (reference) or nothing."""
        if self.token_drop:
            return gather_tokens(patches, ids_visible)
        return torch.where(hidden, self.mask_token.to(patches.dtype), patches)

    def _student_input(self, patches: torch.Tensor, hidden: torch.Tensor,
                       ids_masked: torch.Tensor) -> torch.Tensor:
        """Patches at M; at V the ``visible_token`` (reference) or nothing."""
        if self.token_drop:
            return gather_tokens(patches, ids_masked)
        return torch.where(hidden, patches,
                           self.visible_token.to(patches.dtype))

    def _split_outputs(self, teacher_out: torch.Tensor,
                       student_out: torch.Tensor, ids_visible: torch.Tensor,
                       ids_masked: torch.Tensor) -> TSCAEEncoderOutput:
        """Pick h_T, h_S and g_S from the two passes' (N, 1 + T, D)."""
        if self.token_drop:  # the passes held cls + V and cls + M only
            return TSCAEEncoderOutput(
                teacher_visible=teacher_out[:, 1:],
                student_masked=student_out[:, 1:],
                student_global=student_out[:, 0],
                ids_visible=ids_visible,
                ids_masked=ids_masked)
        student_placeholder = gather_tokens(student_out[:, 1:], ids_visible)
        return TSCAEEncoderOutput(
            teacher_visible=gather_tokens(teacher_out[:, 1:], ids_visible),
            student_masked=gather_tokens(student_out[:, 1:], ids_masked),
            student_global=student_placeholder.amax(dim=1),
            ids_visible=ids_visible,
            ids_masked=ids_masked)

    def _encode(self, patch_tokens: torch.Tensor) -> torch.Tensor:
        """Prepend cls (+ its position) and run the blocks and final norm.

        Args:
            patch_tokens (Tensor): (B, T, D) tokens, positions already added.

        Returns:
            Tensor: (B, 1 + T, D) encoder outputs, cls first.
        """
        cls_token = self.cls_token + self.pos_embed[:, :1]
        x = torch.cat([cls_token.expand(len(patch_tokens), -1, -1),
                       patch_tokens], dim=1)
        x = self.pre_norm(self.drop_after_pos(x))
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        return x

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer depth for layer-wise lr decay; placeholders count as stem."""
        if param_name[len(prefix):] in PLACEHOLDER_TOKENS:
            return 0, self.num_layers + 2
        return super().get_layer_depth(param_name, prefix)


def sibling_tokens(tokens: torch.Tensor, ids_visible: torch.Tensor,
                   ids_masked: torch.Tensor, num_images: int) -> torch.Tensor:
    """Each view's tokens at M, taken from the sibling views that saw them.

    Args:
        tokens (Tensor): Outputs at V of the N * K views, (N * K, |V|, D),
            the K views of an image next to each other.
        ids_visible (Tensor): Their patch indices, (N * K, |V|); the K views
            of an image together hold every patch once.
        ids_masked (Tensor): Patch indices of each view's M, (N * K, |M|).
        num_images (int): N.

    Returns:
        Tensor: (N * K, |M|, D), copies of entries of ``tokens``.
    """
    dims = tokens.shape[-1]
    per_image = tokens.reshape(num_images, -1, dims)  # (N, L, D), view order
    grid = torch.empty_like(per_image).scatter_(
        1, ids_visible.reshape(num_images, -1, 1).expand(-1, -1, dims),
        per_image)  # (N, L, D), patch order
    return gather_tokens(grid, ids_masked.reshape(num_images, -1)).reshape(
        len(ids_masked), -1, dims)


def sibling_mean(cls_out: torch.Tensor, num_views: int) -> torch.Tensor:
    """Per view, the mean of the other K - 1 views' cls outputs.

    Args:
        cls_out (Tensor): (N * K, D), the K views of an image next to each
            other.
        num_views (int): K >= 2.

    Returns:
        Tensor: (N * K, D).
    """
    others = 1 - torch.eye(num_views, dtype=cls_out.dtype,
                           device=cls_out.device)
    per_image = cls_out.reshape(-1, num_views,
                                cls_out.shape[-1])  # (N, K, D)
    return torch.einsum('kj,njd->nkd', others / (num_views - 1),
                        per_image).flatten(0, 1)
