"""tscae_mm: TSCAE self-supervised pre-training as an OpenMMLab plugin."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'tscae_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='tscae_mm',
    version=read_version(),
    description='TSCAE (teacher-student complementary mask autoencoder) '
    'pre-training for MMPretrain, MMDetection and MMSegmentation',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['tscae_mm', 'tscae_mm.*']),
    python_requires='>=3.11',
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'mmpretrain==1.2.0',
        # mmengine 0.10.7 imports pkg_resources, removed in setuptools 81
        'setuptools>=77.0.3,<81',
        'numpy',
        'Pillow',
    ],
    extras_require={
        'downstream': ['mmdet==3.3.0', 'mmsegmentation==1.2.2', 'ftfy', 'regex'],
        'tests': [
            'mmdet==3.3.0', 'mmsegmentation==1.2.2', 'ftfy', 'regex',
            'pytest', 'pytest-timeout', 'matplotlib'
        ],
    },
    license='Apache-2.0',
)
