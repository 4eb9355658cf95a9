"""Draw TSCAE's views and reconstruction for images, from any checkpoint
(``tools/visualize_reconstruction.py`` is its command line).

    python tools/visualize_reconstruction.py CONFIG CHECKPOINT \
        IMAGE [IMAGE ...] --out vis.png [--attention] [--seed 0]

Each row shows: the original (resized to the model's input), the teacher's view
(patches at V), the student's view (patches at M), and the reconstruction (V
from the image, M predicted by the pixel head). With --attention the row goes
on with the last encoder layer's cls-token attention map of each head, from the
plain (unmasked) forward, as in the authors' tool.
"""
import argparse
import os
import os.path as osp

import matplotlib
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

matplotlib.use('Agg')
import matplotlib.pyplot as plt

from ..datasets import (
    ComplementaryMaskGenerator,
    ImageDecodeError,
    LoadImageFromFileSafe,
    decode_image,
)
from ..models.utils import gather_tokens


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='TSCAE pre-training config')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out', default='tscae_reconstruction.png',
                        help='output PNG path')
    parser.add_argument('--attention', action='store_true',
                        help="add the last layer's cls attention per head")
    parser.add_argument('--mask-ratio', type=float, default=None,
                        help="defaults to the config's mask generator's")
    parser.add_argument('--seed', type=int, default=0, help='mask seed')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def find_mask_ratio(cfg: Config) -> float:
    """The mask ratio of the config's ComplementaryMaskGenerator (or 0.75)."""
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']  # through wrappers like SeededDataset
    for step in dataset.get('pipeline', []):
        if step.get('type') == 'ComplementaryMaskGenerator':
            return step.get('mask_ratio', 0.75)
    return 0.75


def build_model(cfg: Config, checkpoint: str, device: str):
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    if cfg.model.get('type') != 'TSCAE':
        raise ValueError(f'{cfg.filename}: model type is '
                         f"{cfg.model.get('type')!r}, not 'TSCAE'; this tool "
                         'draws TSCAE reconstructions.')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def prepare_out(path: str) -> None:
    """Create the folder ``path`` goes into; refuse an unusable ``--out``
    before any computation.

    Raises:
        SystemExit: The folder cannot be created or written, ``path`` is a
            folder, or its extension is no image format matplotlib writes.
    """
    folder = osp.dirname(osp.abspath(path))
    extension = osp.splitext(path)[1][1:].lower()
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close('all')
    if extension not in formats:
        raise SystemExit(f'--out {path}: give a file name ending in one of '
                         f'.{", .".join(sorted(formats))} (e.g. .png).')
    if osp.isdir(path):
        raise SystemExit(f'--out {path} is a folder; give a file name in '
                         f'it, e.g. {osp.join(path, "reconstruction.png")}.')
    existing = folder
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise SystemExit(f'--out {path}: {existing} is a file, not a '
                         'folder.')
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise SystemExit(f'--out {path}: cannot create the folder {folder} '
                         f'({err.strerror or err}).') from err
    if not os.access(folder, os.W_OK):
        raise SystemExit(f'--out {path}: the folder {folder} is not '
                         'writable.')


def load_image(path: str, size) -> torch.Tensor:
    """Image resized to the model input, (3, H, W) uint8 BGR tensor.

    Decoded as training decodes it (:class:`LoadImageFromFileSafe`: 16-bit
    images scaled to 8 bits, grayscale, palette and alpha converted, EXIF
    orientation applied), then resized with Pillow's bicubic filter.
    """
    try:
        image = decode_image(LoadImageFromFileSafe().read_bytes(path))
    except ImageDecodeError as err:
        raise SystemExit(f'cannot read image {path}: {err}') from err
    image = mmcv.imresize(
        image, (size[1], size[0]), interpolation='bicubic', backend='pillow')
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)


def paint_patches(image: np.ndarray, keep: np.ndarray, patch: int,
                  fill=0.5) -> np.ndarray:
    """Grey out the patches where ``keep`` (h, w) is False."""
    full = keep.repeat(patch, 0).repeat(patch, 1)[..., None]
    return np.where(full, image, fill)


@torch.no_grad()
def reconstruct(model, images: torch.Tensor, mask: torch.Tensor):
    """Predicted pixels at M, in the normalised input space:
    (N, |M|, p*p*3)."""
    enc = model.backbone(images, mask)
    _, decoded_masked = model.neck(enc.teacher_visible, enc.ids_visible,
                                   enc.ids_masked)
    pred = model.head.predict_pixels(decoded_masked)
    target = model.head.patchify(images)
    if model.head.norm_pix:  # undo the per-patch normalisation of the target
        true = gather_tokens(target, enc.ids_masked)
        pred = pred * (true.var(-1, keepdim=True) + 1e-6)**.5 + true.mean(
            -1, keepdim=True)
    target.scatter_(1, enc.ids_masked[..., None].expand_as(pred), pred)
    return model.head.unpatchify(target)


@torch.no_grad()
def cls_attention(model, images: torch.Tensor) -> torch.Tensor:
    """Last layer's cls-token attention over patches, (N, heads, h, w)."""
    layer = model.backbone.layers[-1]
    captured = {}
    handle = layer.ln1.register_forward_hook(
        lambda module, inputs, output: captured.setdefault('x', output))
    model.backbone(images, mask=None)
    handle.remove()
    attn = layer.attn
    x = captured['x']
    qkv = attn.qkv(x).reshape(len(x), x.shape[1], 3, attn.num_heads, -1)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
    scale = attn.head_dims**-0.5
    weights = (q[:, :, :1] @ k.transpose(-2, -1) * scale).softmax(-1)
    num_extra = model.backbone.num_extra_tokens
    h, w = model.backbone.patch_resolution
    return weights[:, :, 0, num_extra:].reshape(len(x), -1, h, w)


def short_name(path: str) -> str:
    """The file name with its folder (``cat/0000.jpg``,
    ``run/epoch_3.pth``)."""
    path = osp.abspath(path)
    return osp.join(osp.basename(osp.dirname(path)), osp.basename(path))


def masked_psnr(picture: np.ndarray, original: np.ndarray,
                hidden: np.ndarray) -> float:
    """PSNR (dB, pixels in [0, 1]) of ``picture`` at the hidden pixels."""
    hidden = np.broadcast_to(hidden, original.shape)
    mse = float(((picture - original)[hidden]**2).mean())
    return 10 * np.log10(1 / max(mse, 1e-10))


def mean_colour_fill(original: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """The baseline a prediction must beat: the hidden pixels filled with
    the mean colour of the visible ones."""
    visible = original[~hidden[..., 0]]
    return np.where(hidden, visible.mean(0), original)


def to_display(images: torch.Tensor, preprocessor) -> np.ndarray:
    """Normalised (N, 3, H, W) -> (N, H, W, 3) floats in [0, 1], RGB."""
    mean = preprocessor.mean.view(1, -1, 1, 1).cpu()
    std = preprocessor.std.view(1, -1, 1, 1).cpu()
    return ((images.cpu() * std + mean) / 255.).clamp(0, 1).permute(
        0, 2, 3, 1).numpy()


def main():
    args = parse_args()
    prepare_out(args.out)
    cfg = Config.fromfile(args.config)
    model = build_model(cfg, args.checkpoint, args.device)
    backbone = model.backbone
    size = backbone.img_size
    patch = size[0] // backbone.patch_resolution[0]
    generator = ComplementaryMaskGenerator(
        input_size=tuple(size), patch_size=patch,
        mask_ratio=args.mask_ratio or find_mask_ratio(cfg))
    np.random.seed(args.seed)
    masks = np.stack([generator({})['mask'] for _ in args.images])
    raw = [load_image(path, size) for path in args.images]
    images = model.data_preprocessor(
        dict(inputs=torch.stack(raw), data_samples=None), False)['inputs']

    recon = reconstruct(model, images, torch.from_numpy(masks))
    original = to_display(images, model.data_preprocessor)
    predicted = to_display(recon, model.data_preprocessor)
    rows, psnr, psnr_fill = [], [], []
    for i in range(len(raw)):
        hidden = masks[i].repeat(patch, 0).repeat(patch, 1)[..., None]
        psnr.append(masked_psnr(predicted[i], original[i], hidden))
        psnr_fill.append(
            masked_psnr(mean_colour_fill(original[i], hidden), original[i],
                        hidden))
        rows.append([
            (short_name(args.images[i]), original[i]),
            ('teacher view', paint_patches(original[i], ~masks[i], patch)),
            ('student view', paint_patches(original[i], masks[i], patch)),
            (f'reconstruction\n{psnr[i]:.1f} dB (mean fill '
             f'{psnr_fill[i]:.1f} dB)',
             np.where(hidden, predicted[i], original[i])),
        ])
    if args.attention:
        maps = cls_attention(model, images).cpu().numpy()
        for i, row in enumerate(rows):
            row.extend((f'cls attn head {h}', maps[i, h])
                       for h in range(maps.shape[1]))

    cols = len(rows[0])
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(2 * cols, 2 * len(rows)), squeeze=False)
    for axes_row, row in zip(axes, rows):
        for ax, (title, picture) in zip(axes_row, row):
            ax.imshow(picture, cmap='viridis' if picture.ndim == 2 else None)
            ax.set_title(title, fontsize=8)
            ax.axis('off')
    fig.suptitle(
        f'{short_name(args.checkpoint)}: grey = hidden from that view; '
        f'PSNR at the hidden patches {np.mean(psnr):.2f} dB, a mean-colour '
        f'fill {np.mean(psnr_fill):.2f} dB',
        fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}; masked-patch PSNR {np.mean(psnr):.2f} dB '
          f'(mean-colour fill {np.mean(psnr_fill):.2f} dB)')
