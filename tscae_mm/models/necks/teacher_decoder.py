"""The teacher decoder: queries at M read the teacher's features at V."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS
from torch import nn

from ..utils import gather_tokens


class PositionalAttention(nn.Module):
    """Multi-head attention whose queries and keys carry a position part.

    ``q = W_q (query + query_pos)``, ``k = W_k (key + key_pos)``,
    ``v = W_v key``, as in DETR's decoder; fused through
    ``scaled_dot_product_attention``.

    Args:
        embed_dims (int): Width D.
        num_heads (int): Heads; must divide D.
    """

    def __init__(self, embed_dims: int, num_heads: int) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'TSCAE decoder: embed_dims {embed_dims} is not '
                             f'divisible by num_heads {num_heads}.')
        self.num_heads = num_heads
        self.q = nn.Linear(embed_dims, embed_dims)
        self.k = nn.Linear(embed_dims, embed_dims)
        self.v = nn.Linear(embed_dims, embed_dims)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        return x.view(n, t, self.num_heads,
                      d // self.num_heads).transpose(1, 2)

    def forward(self, query: torch.Tensor, query_pos: torch.Tensor,
                key: torch.Tensor, key_pos: torch.Tensor) -> torch.Tensor:
        """(N, Tq, D) queries attend to (N, Tk, D) keys -> (N, Tq, D)."""
        q = self._split_heads(self.q(query + query_pos))
        k = self._split_heads(self.k(key + key_pos))
        v = self._split_heads(self.v(key))
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, Tq, D/h)
        return self.proj(out.transpose(1, 2).flatten(2))


class CrossAttentionDecoderLayer(nn.Module):
    """Self-attention among queries, cross-attention into memory, FFN.

    Pre-norm residual blocks (ours: the reference's layer is DETR-style; the
    pre-norm placement matches the encoder's and trains stably from scratch).

    Args:
        embed_dims (int): Width D.
        num_heads (int): Attention heads.
        mlp_ratio (float): FFN hidden width / D.
        norm_cfg (dict): Normalisation layer config.
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float,
                 norm_cfg: dict) -> None:
        super().__init__()
        self.norm_self = build_norm_layer(norm_cfg, embed_dims)[1]
        self.self_attn = PositionalAttention(embed_dims, num_heads)
        self.norm_cross = build_norm_layer(norm_cfg, embed_dims)[1]
        self.cross_attn = PositionalAttention(embed_dims, num_heads)
        self.norm_ffn = build_norm_layer(norm_cfg, embed_dims)[1]
        hidden = int(embed_dims * mlp_ratio)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(),
            nn.Linear(hidden, embed_dims))

    def forward(self, queries: torch.Tensor, query_pos: torch.Tensor,
                memory: torch.Tensor,
                memory_pos: torch.Tensor) -> torch.Tensor:
        """Update (N, Tq, D) queries from (N, Tk, D) memory."""
        x = self.norm_self(queries)
        queries = queries + self.self_attn(x, query_pos, x, query_pos)
        queries = queries + self.cross_attn(
            self.norm_cross(queries), query_pos, memory, memory_pos)
        return queries + self.ffn(self.norm_ffn(queries))


@MODELS.register_module()
class TSCAETeacherDecoder(BaseModule):
    """Cross-attention decoder from the teacher's V features to M and global.

    Memory is h_T plus the sin-cos position embeddings of V. The queries are
    one global query and one query per position in M; a query's position part
    is the sin-cos embedding of its patch (a learned embedding for the global
    query) and its content part starts as a constant (zero).

    Args:
        patch_resolution (int | tuple[int, int]): Patch grid (h, w) of the
            pre-training input, e.g. 14 for 224 / 16.
        in_channels (int): Encoder width of h_T. Defaults to 768.
        embed_dims (int): Decoder width; h_T is projected when it differs.
            Defaults to 768 (reference: the encoder's width).
        num_layers (int): Decoder layers. Defaults to 6 (reference, ViT-B).
        num_heads (int): Attention heads. Defaults to 12.
        mlp_ratio (float): FFN width ratio. Defaults to 4.
        norm_cfg (dict): Normalisation config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 patch_resolution: Union[int, Tuple[int, int]] = 14,
                 in_channels: int = 768,
                 embed_dims: int = 768,
                 num_layers: int = 6,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.input_proj = (
            nn.Identity() if in_channels == embed_dims else nn.Linear(
                in_channels, embed_dims))
        pos_embed = build_2d_sincos_position_embedding(
            patch_resolution, embed_dims, cls_token=False)
        self.register_buffer('pos_embed', pos_embed.float(), persistent=False)
        self.global_query_pos = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.layers = nn.ModuleList(
            CrossAttentionDecoderLayer(embed_dims, num_heads, mlp_ratio,
                                       norm_cfg) for _ in range(num_layers))
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.normal_(self.global_query_pos, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, teacher_visible: torch.Tensor, ids_visible: torch.Tensor,
                ids_masked: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Decode the global feature and the features at M.

        Args:
            teacher_visible (Tensor): h_T, (N, |V|, C_in).
            ids_visible (Tensor): Patch indices of V, (N, |V|).
            ids_masked (Tensor): Patch indices of M, (N, |M|).

        Returns:
            tuple[Tensor, Tensor]: d_g (N, D) and d_M (N, |M|, D).
        """
        num_images = len(teacher_visible)
        pos = self.pos_embed.expand(num_images, -1, -1)
        memory = self.input_proj(teacher_visible)
        memory_pos = gather_tokens(pos, ids_visible)
        query_pos = torch.cat([
            self.global_query_pos.expand(num_images, -1, -1),
            gather_tokens(pos, ids_masked)
        ], dim=1)  # (N, 1 + |M|, D)
        queries = torch.zeros_like(query_pos, dtype=memory.dtype)
        for layer in self.layers:
            queries = layer(queries, query_pos, memory, memory_pos)
        queries = self.norm(queries)
        return queries[:, 0], queries[:, 1:]
