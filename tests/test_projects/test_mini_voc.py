"""tools/make_mini_voc.py (tscae_study.mini_voc): a VOCdevkit with exact
boxes and masks that the three toolboxes' VOC data sets read."""
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT, run_tool

TOOL = REPO_ROOT / 'tools' / 'make_mini_voc.py'
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
               'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')
PASTED_CLASSES = {'aeroplane', 'car', 'bird', 'cat', 'dog', 'horse', 'boat'}
TRAINVAL, TEST = 6, 4


@pytest.fixture(scope='module')
def devkit(tmp_path_factory, cifar_archive):
    out = tmp_path_factory.mktemp('mini_voc') / 'VOCdevkit'
    run_tool([
        TOOL, out, '--cifar-archive', cifar_archive, '--trainval', TRAINVAL,
        '--test', TEST, '--seed', 1, '--image-size', 80, 60
    ])
    return out


def read_ids(path):
    return path.read_text().split()


def read_objects(xml_path):
    """[(name, (xmin, ymin, xmax, ymax))] of a VOC XML file."""
    root = ET.parse(xml_path).getroot()
    return [(obj.findtext('name'),
             tuple(int(obj.find('bndbox').findtext(key))
                   for key in ('xmin', 'ymin', 'xmax', 'ymax')))
            for obj in root.findall('object')]


def all_ids(year_dir):
    return read_ids(year_dir / 'ImageSets' / 'Main' / 'trainval.txt') + (
        read_ids(year_dir / 'ImageSets' / 'Main' / 'test.txt')
        if (year_dir / 'ImageSets' / 'Main' / 'test.txt').exists() else [])


@pytest.mark.slow
def test_layout_and_splits(devkit):
    voc07, voc12 = devkit / 'VOC2007', devkit / 'VOC2012'
    main07 = voc07 / 'ImageSets' / 'Main'
    assert len(read_ids(main07 / 'trainval.txt')) == TRAINVAL
    assert len(read_ids(main07 / 'test.txt')) == TEST
    assert (read_ids(main07 / 'train.txt') + read_ids(main07 / 'val.txt')
            == read_ids(main07 / 'trainval.txt'))
    assert not (voc12 / 'ImageSets' / 'Main' / 'test.txt').exists()
    seg12 = voc12 / 'ImageSets' / 'Segmentation'
    assert read_ids(seg12 / 'aug.txt') == read_ids(seg12 / 'train.txt')
    assert all(image_id.startswith('2012_') for image_id in all_ids(voc12))
    for year_dir in (voc07, voc12):
        for image_id in all_ids(year_dir):
            assert (year_dir / 'JPEGImages' / f'{image_id}.jpg').is_file()
            assert (year_dir / 'Annotations' / f'{image_id}.xml').is_file()
            assert (year_dir / 'SegmentationClass' /
                    f'{image_id}.png').is_file()
    aug = sorted(p.stem for p in (voc12 / 'SegmentationClassAug').iterdir())
    assert aug == sorted(all_ids(voc12))


@pytest.mark.slow
def test_class_list_files_match_annotations(devkit):
    main07 = devkit / 'VOC2007' / 'ImageSets' / 'Main'
    for line in (main07 / 'cat_test.txt').read_text().splitlines():
        image_id, flag = line.split()
        names = {name for name, _ in read_objects(
            devkit / 'VOC2007' / 'Annotations' / f'{image_id}.xml')}
        assert (flag == '1') == ('cat' in names)


@pytest.mark.slow
def test_boxes_are_the_extent_of_the_masks(devkit):
    """Each box is exactly the extent of its class's pixels inside it, no
    class pixel lies outside the boxes, and the aug mask is the class mask
    without the void border."""
    for year in ('2007', '2012'):
        year_dir = devkit / f'VOC{year}'
        for image_id in all_ids(year_dir):
            objects = read_objects(year_dir / 'Annotations' /
                                   f'{image_id}.xml')
            mask_png = Image.open(year_dir / 'SegmentationClass' /
                                  f'{image_id}.png')
            image = Image.open(year_dir / 'JPEGImages' / f'{image_id}.jpg')
            assert mask_png.mode == 'P' and mask_png.size == image.size
            labels = np.asarray(mask_png)
            assert objects and {n for n, _ in objects} <= PASTED_CLASSES
            inside_boxes = np.zeros_like(labels, dtype=bool)
            for name, (xmin, ymin, xmax, ymax) in objects:
                window = labels[ymin - 1:ymax, xmin - 1:xmax]
                rows, cols = np.nonzero(window == VOC_CLASSES.index(name) + 1)
                assert (rows.min(), cols.min()) == (0, 0)
                assert (rows.max(), cols.max()) == (ymax - ymin,
                                                    xmax - xmin)
                inside_boxes[ymin - 1:ymax, xmin - 1:xmax] = True
            assert set(np.unique(labels[~inside_boxes])) <= {0, 255}
            assert np.asarray(image).std() > 10  # a real photo, not a fill
            if year == '2012':
                aug = np.asarray(Image.open(year_dir / 'SegmentationClassAug'
                                            / f'{image_id}.png'))
                assert 255 not in aug
                np.testing.assert_array_equal(aug[labels != 255],
                                              labels[labels != 255])


@pytest.mark.slow
def test_toolbox_voc_datasets_read_it(devkit):
    from mmdet.datasets import VOCDataset
    from mmpretrain.datasets import VOC
    from mmseg.datasets import PascalVOCDataset

    detection = VOCDataset(
        data_root=str(devkit),
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=[])
    first = detection.get_data_info(0)
    xml_objects = read_objects(
        devkit / 'VOC2007' / 'Annotations' / f"{first['img_id']}.xml")
    assert len(detection) == TEST
    assert [i['bbox_label'] for i in first['instances']] == [
        VOC_CLASSES.index(name) for name, _ in xml_objects
    ]

    classification = VOC(data_root=str(devkit / 'VOC2007'), split='test')
    assert len(classification) == TEST
    assert set(classification.get_data_info(0)['gt_label']) == {
        VOC_CLASSES.index(name) for name, _ in xml_objects
    }

    segmentation = PascalVOCDataset(
        data_root=str(devkit / 'VOC2012'),
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/aug.txt',
        pipeline=[])
    assert len(segmentation) == TRAINVAL // 2


@pytest.mark.slow
def test_refuses_objects_larger_than_the_image(tmp_path, cifar_archive):
    proc = subprocess.run([
        sys.executable,
        str(TOOL),
        str(tmp_path / 'VOCdevkit'), '--cifar-archive',
        str(cifar_archive), '--image-size', '64', '48', '--object-size', '40',
        '60'
    ], capture_output=True, text=True)
    assert proc.returncode == 2
    assert '--object-size 40 60' in proc.stderr
    assert not (tmp_path / 'VOCdevkit').exists()


def run_make_mini_voc(out, *source):
    """Run the tool on a tiny devkit; return the process (not checked)."""
    return subprocess.run([
        sys.executable, str(TOOL), str(out), *map(str, source), '--trainval',
        '2', '--test', '1', '--max-objects', '1', '--image-size', '80', '60'
    ], capture_output=True, text=True)


def annotated_names(devkit):
    """Every object name in the devkit's annotations."""
    return {name for xml in devkit.glob('VOC*/Annotations/*.xml')
            for name, _ in read_objects(xml)}


@pytest.mark.slow
def test_refuses_to_run_without_a_photo_source(tmp_path):
    proc = run_make_mini_voc(tmp_path / 'VOCdevkit')
    assert proc.returncode == 2
    for option in ('--cifar-python DIR', '--images DIR',
                   '--cifar-archive FILE',
                   'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'):
        assert option in proc.stderr
    assert not (tmp_path / 'VOCdevkit').exists()


def write_cifar_python(folder, per_class, payload=None):
    """A cifar-10-batches-py folder in the standard format (Python-2 style
    pickles with bytes keys, row-major RGB planes), ``per_class`` plain
    images per class, class c's n-th of colour (25 c, 40 n, 128)."""
    import pickle
    names = [b'airplane', b'automobile', b'bird', b'cat', b'deer', b'dog',
             b'frog', b'horse', b'ship', b'truck']
    folder.mkdir()
    labels = [label for label in range(10) for _ in range(per_class)]
    data = np.stack([
        np.repeat(np.array([25 * label, 40 * n, 128], dtype=np.uint8), 1024)
        for label in range(10) for n in range(per_class)
    ])
    with open(folder / 'batches.meta', 'wb') as file:
        pickle.dump({b'label_names': names, b'num_vis': 3072}, file,
                    protocol=2)
    with open(folder / 'test_batch', 'wb') as file:
        pickle.dump(payload or {b'batch_label': b'testing batch 1 of 1',
                                b'labels': labels, b'data': data}, file,
                    protocol=2)
    return data, labels


@pytest.mark.slow
def test_reads_the_cifar10_python_batches(tmp_path):
    batches = tmp_path / 'cifar-10-batches-py'
    write_cifar_python(batches, per_class=5)
    devkit = tmp_path / 'VOCdevkit'
    proc = run_make_mini_voc(devkit, '--cifar-python', batches)
    assert proc.returncode == 0, proc.stderr
    assert annotated_names(devkit) <= PASTED_CLASSES
    # the background is one of the deer (4), frog (6) or truck (9) images
    image = np.asarray(Image.open(devkit / 'VOC2007' / 'JPEGImages' /
                                  '000001.jpg'), dtype=float)
    labels = np.asarray(Image.open(devkit / 'VOC2007' / 'SegmentationClass'
                                   / '000001.png'))
    background = image[labels == 0].mean(0)
    assert image.shape == (60, 80, 3)
    assert background[0] == pytest.approx(25 * 4, abs=3) or \
        background[0] == pytest.approx(25 * 6, abs=3) or \
        background[0] == pytest.approx(25 * 9, abs=3)
    assert background[2] == pytest.approx(128, abs=3)


def object_photo_indices(year_dir, split):
    """{n}: which photo of its class each object of ``split`` is, read from
    its colour (write_cifar_python: green 40 n)."""
    indices = set()
    for image_id in read_ids(year_dir / 'ImageSets' / 'Main' /
                             f'{split}.txt'):
        image = np.asarray(Image.open(year_dir / 'JPEGImages' /
                                      f'{image_id}.jpg'), dtype=float)
        labels = np.asarray(Image.open(year_dir / 'SegmentationClass' /
                                       f'{image_id}.png'))
        for label in set(np.unique(labels)) - {0, 255}:
            green = np.median(image[labels == label][:, 1])
            indices.add(int(round(green / 40)))
    return indices


@pytest.mark.slow
def test_evaluation_splits_show_photos_of_their_own(tmp_path):
    """VOC2007 test and VOC2012 val are made of photos no training split
    uses: of 5 photos per class (2 trainval + 1 test per year), the
    training splits get photos 0-2, VOC2007 test photo 3, VOC2012 val 4."""
    batches = tmp_path / 'cifar-10-batches-py'
    write_cifar_python(batches, per_class=5)
    devkit = tmp_path / 'VOCdevkit'
    proc = run_make_mini_voc(devkit, '--cifar-python', batches)
    assert proc.returncode == 0, proc.stderr
    voc07, voc12 = devkit / 'VOC2007', devkit / 'VOC2012'
    assert object_photo_indices(voc07, 'test') == {3}
    assert object_photo_indices(voc12, 'val') == {4}
    assert object_photo_indices(voc07, 'trainval') | object_photo_indices(
        voc12, 'train') <= {0, 1, 2}


def test_image_pool_split_is_disjoint_and_proportional():
    from tscae_study.mini_voc import ImagePool, SourceError
    pool = ImagePool({'cat': ('cat', list(range(100)))},
                     {'frog': list(range(10))})
    parts = pool.split([6, 1, 3])
    assert [len(p.objects['cat'][1]) for p in parts] == [60, 10, 30]
    assert [len(p.backgrounds['frog']) for p in parts] == [6, 1, 3]
    assert sum((p.objects['cat'][1] for p in parts), []) == list(range(100))
    # a tiny share still gets a photo of every class
    tiny = pool.split([1000, 1, 1])
    assert [len(p.backgrounds['frog']) for p in tiny] == [8, 1, 1]
    with pytest.raises(SourceError, match='class frog has 2 photos'):
        ImagePool({}, {'frog': [0, 1]}).split([1, 1, 1])


@pytest.mark.slow
def test_refuses_a_cifar_pickle_that_holds_other_objects(tmp_path):
    batches = tmp_path / 'cifar-10-batches-py'
    write_cifar_python(batches, per_class=5,
                       payload={b'data': shutil.rmtree})
    proc = run_make_mini_voc(tmp_path / 'VOCdevkit', '--cifar-python',
                             batches)
    assert proc.returncode == 1
    assert ('holds shutil.rmtree, which a CIFAR-10 python batch does not'
            in proc.stderr)


@pytest.mark.slow
def test_names_the_missing_cifar_files(tmp_path):
    proc = run_make_mini_voc(tmp_path / 'VOCdevkit', '--cifar-python',
                             tmp_path / 'nowhere')
    assert proc.returncode == 1
    assert (f'--cifar-python {tmp_path / "nowhere"}: batches.meta, '
            'test_batch not found') in proc.stderr
    assert 'cifar-10-python.tar.gz' in proc.stderr


def write_class_folders(root, names, per_class, size=(40, 30)):
    for index, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for n in range(per_class):
            colour = (40 * index % 256, 7 * n, 200)
            Image.new('RGB', size, colour).save(root / name / f'{n}.png')


@pytest.mark.slow
def test_reads_a_folder_of_class_folders(tmp_path):
    photos = tmp_path / 'photos'
    write_class_folders(photos, ['cat', 'aeroplane', 'backgrounds'], 5)
    devkit = tmp_path / 'VOCdevkit'
    proc = run_make_mini_voc(devkit, '--images', photos)
    assert proc.returncode == 0, proc.stderr
    assert annotated_names(devkit) == {'cat', 'aeroplane'}
    image_id = read_ids(devkit / 'VOC2007' / 'ImageSets' / 'Main' /
                        'test.txt')[0]
    labels = np.asarray(Image.open(devkit / 'VOC2007' / 'SegmentationClass'
                                   / f'{image_id}.png'))
    pasted = {VOC_CLASSES[value - 1] for value in np.unique(labels)
              if 0 < value < 255}
    assert pasted <= {'cat', 'aeroplane'} and pasted


@pytest.mark.slow
def test_a_folder_without_backgrounds_is_refused(tmp_path):
    photos = tmp_path / 'photos'
    write_class_folders(photos, ['cat', 'dog'], 5)
    proc = run_make_mini_voc(tmp_path / 'VOCdevkit', '--images', photos)
    assert proc.returncode == 1
    assert (f"--images {photos} has classes ['cat', 'dog']: it needs at "
            'least one class named after a VOC class') in proc.stderr
    assert 'at least one other class (backgrounds' in proc.stderr


@pytest.mark.slow
def test_a_folder_with_too_few_images_names_the_class(tmp_path):
    photos = tmp_path / 'photos'
    write_class_folders(photos, ['cat', 'sky'], 5)
    (photos / 'sky' / '4.png').unlink()
    proc = run_make_mini_voc(tmp_path / 'VOCdevkit', '--images', photos)
    assert proc.returncode == 1
    assert (f"--images {photos} has fewer than 5 images for {{'sky': 4}}"
            in proc.stderr)
