"""Index helpers shared by the encoder, decoder and heads."""
from typing import Tuple

import torch


def complementary_indices(
        mask: torch.Tensor,
        num_patches: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split patch indices into V (teacher-visible) and M (teacher-hidden).

    Args:
        mask (Tensor | np.ndarray): Bool, (N, h, w) or (N, L), True where the
            patch is hidden from the teacher.
        num_patches (int): L, the number of patches the model expects.

    Returns:
        tuple[Tensor, Tensor]: ``ids_visible`` (N, |V|) and ``ids_masked``
        (N, |M|), int64, each in increasing patch order, on the mask's device.
    """
    mask = torch.as_tensor(mask).reshape(len(mask), -1).bool()
    if mask.shape[1] != num_patches:
        raise ValueError(
            f'TSCAE: the mask has {mask.shape[1]} patches per image but the '
            f'encoder expects {num_patches}; make the mask generator\'s '
            'input_size / patch_size match the model\'s img_size / '
            'patch_size.')
    num_masked = mask.sum(dim=1)
    num_hidden = int(num_masked[0])  # free for CPU masks (the pipeline's)
    if bool((num_masked != num_hidden).any()):
        raise ValueError('TSCAE: the images of a batch hide different numbers '
                         f'of patches ({num_masked.tolist()}); one mask '
                         'generator with one mask_ratio must make all masks.')
    if not 0 < num_hidden < num_patches:
        raise ValueError(f'TSCAE: a mask hides {num_hidden} of {num_patches} '
                         'patches; both passes need at least one patch.')
    order = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)
    return order[:, :num_patches - num_hidden], order[:, num_patches -
                                                       num_hidden:]


def gather_tokens(tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Pick tokens by index along the sequence.

    Args:
        tokens (Tensor): (N, L, D).
        ids (Tensor): (N, K) int64 indices into L.

    Returns:
        Tensor: (N, K, D).
    """
    return torch.gather(
        tokens, 1, ids.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
