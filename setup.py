"""tscae_mm: TSCAE self-supervised pre-training as an OpenMMLab plugin."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt (``-r`` followed)."""
    folder = osp.join(osp.dirname(osp.abspath(__file__)), 'requirements')
    found = []
    with open(osp.join(folder, f'{name}.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line.startswith('-r '):
                found += read_requirements(line[3:].strip()[:-len('.txt')])
            elif line:
                found.append(line)
    return found


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
    long_description=open('README.md').read()
    if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['tscae_mm', 'tscae_mm.*']),
    # the configs, tools, model index and the demo config's images (path
    # bases, `tscae_mm::<path>` bases in our tools, `mim train tscae_mm`):
    # tscae_mm/.mim holds links to them in the checkout, and a wheel copies
    package_data={
        'tscae_mm': [
            '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml', '.mim/configs/**/*.md', '.mim/tools/*',
            '.mim/demo/**/*'
        ]
    },
    python_requires='>=3.11',
    # ranges, so that the package installs into an existing OpenMMLab
    # environment; scripts/setup_env.sh pins the tested versions
    # (requirements/constraints.txt)
    install_requires=read_requirements('runtime'),
    extras_require={
        'downstream': read_requirements('downstream'),
        'tests': read_requirements('tests'),
        'mim': ['openmim'],
    },
    license='Apache-2.0',
)
