"""Draw TSCAE's views and reconstruction for images, from any checkpoint
(``tools/visualize_reconstruction.py`` is its command line).

    python tools/visualize_reconstruction.py CONFIG CHECKPOINT \
        IMAGE [IMAGE ...] --out vis.png [--attention] [--seed 0]

Each row shows: the original (resized to the model's input), the teacher's view
(patches at V), the student's view (patches at M; with sibling-view targets the
views that see M), and the reconstruction (V from the image, M predicted by the
pixel head) with its PSNR at M against a mean-colour fill. With --attention the
row goes on with the last encoder layer's cls-token attention map of each head,
from the plain (unmasked) forward, as in the authors' tool, on one colour scale
per row with its bar. A caption under the figure says the same in words.
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
    ratio = round(100 * (1 - masks[0].mean()))
    siblings = getattr(model, 'student_targets', None) == 'sibling_views'
    rows, psnr, psnr_fill = [], [], []
    for i in range(len(raw)):
        hidden = masks[i].repeat(patch, 0).repeat(patch, 1)[..., None]
        psnr.append(masked_psnr(predicted[i], original[i], hidden))
        psnr_fill.append(
            masked_psnr(mean_colour_fill(original[i], hidden), original[i],
                        hidden))
        rows.append([
            (short_name(args.images[i]), original[i]),
            (f'teacher view: V ({ratio} %)\nwhat the encoder sees',
             paint_patches(original[i], ~masks[i], patch)),
            ('M: sibling views see it\n(the feature targets)' if siblings
             else 'student view: M\n(the feature targets)',
             paint_patches(original[i], masks[i], patch)),
            (f'predicted at M: {psnr[i]:.1f} dB\n(mean-colour fill '
             f'{psnr_fill[i]:.1f} dB)',
             np.where(hidden, predicted[i], original[i])),
        ])
    heads = 0
    if args.attention:
        maps = cls_attention(model, images).cpu().numpy()
        heads = maps.shape[1]
        for i, row in enumerate(rows):
            row.extend((f'cls attention, head {h}', maps[i, h])
                       for h in range(heads))

    cols = len(rows[0])
    height = 2 * len(rows) + TITLE_INCHES + CAPTION_INCHES
    # with attention maps, a narrow last column holds each row's colour bar
    fig, axes = plt.subplots(
        len(rows), cols + bool(heads),
        figsize=(2 * cols + BAR_INCHES * bool(heads), height),
        gridspec_kw=dict(width_ratios=[2] * cols +
                         [BAR_INCHES] * bool(heads)),
        squeeze=False)
    for axes_row, row in zip(axes, rows):
        # one colour scale for a row's attention maps, from 0
        top = max([p.max() for _, p in row if p.ndim == 2], default=1.)
        for ax, (title, picture) in zip(axes_row, row):
            shown = ax.imshow(picture, cmap='viridis', vmin=0., vmax=top) \
                if picture.ndim == 2 else ax.imshow(picture)
            ax.set_title(title, fontsize=7)
            ax.axis('off')
        if heads:
            bar = fig.colorbar(shown, cax=axes_row[-1])
            bar.set_label('attention weight', fontsize=7)
            bar.ax.tick_params(labelsize=6)
    fig.suptitle(
        f'{short_name(args.checkpoint)}: masked-patch PSNR {np.mean(psnr):.2f}'
        f' dB, a mean-colour fill {np.mean(psnr_fill):.2f} dB (higher is '
        'better)', fontsize=8)
    fig.text(0.01, 0.01, caption(ratio, siblings, heads), fontsize=7,
             va='bottom', ha='left', wrap=True)
    fig.subplots_adjust(
        left=0.01, right=0.99 - 0.45 * bool(heads) / fig.get_figwidth(),
        top=1 - TITLE_INCHES / height, bottom=CAPTION_INCHES / height,
        wspace=0.08, hspace=0.3)
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}; masked-patch PSNR {np.mean(psnr):.2f} dB '
          f'(mean-colour fill {np.mean(psnr_fill):.2f} dB)')


CAPTION_INCHES = 0.8  # the caption under the panels
TITLE_INCHES = 0.6  # the figure's title above them
BAR_INCHES = 0.15  # a colour bar's column


def caption(visible: int, siblings: bool, heads: int) -> str:
    """What the panels show, in words, under the figure."""
    text = [
        f'Teacher view: the {visible} % of the patches (V) the encoder sees; '
        'grey = hidden (M). The decoder predicts the pixels and the features '
        'of M from it.',
        ('M: the complementary patches. Here they are split into sibling '
         'views of the same image in the same batch, each seen by the '
         'encoder like V; their detached outputs are the feature targets.'
         if siblings else
         'Student view: the complementary patches M (grey = V); the '
         "encoder's tokens of this view are the feature targets."),
        'Predicted at M: V copied from the image, M from the pixel head; '
        'the PSNR counts M only, against filling M with the mean colour of '
        'V.',
    ]
    if heads:
        text.append("cls attention: where the last layer's cls token looks "
                    'in the whole (unmasked) image, one map per head; the '
                    'bar gives the weight.')
    return '\n'.join(text)
