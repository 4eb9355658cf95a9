"""tscae_mm: TSCAE self-supervised pre-training as an OpenMMLab plugin."""
import os.path as osp
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# the start-up hook that lets configs anywhere inherit `tscae_mm::<path>`
# bases (_tscae_mm_scope.py says why and how; it imports only the stdlib)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _tscae_mm_scope import PTH_LINE, PTH_NAME  # noqa: E402


class BuildPyWithScopeHook(build_py):
    """Puts ``tscae_mm-scope.pth`` at the top of the wheel, so that
    ``pip install .`` installs it in site-packages. (An editable install
    cannot carry it: ``python -m _tscae_mm_scope --install`` writes it.)"""

    def _editable(self):
        return getattr(self, 'editable_mode', False)

    def _hook_target(self):
        return osp.join(self.build_lib, PTH_NAME)

    def run(self):
        super().run()
        if not self._editable():
            with open(self._hook_target(), 'w') as f:
                f.write(PTH_LINE)

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        return outputs if self._editable() else outputs + [
            self._hook_target()
        ]


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
    py_modules=['_tscae_mm_scope'],
    # the configs, tools, model index and the demo config's images, for
    # `tscae_mm::<path>` bases and `mim train tscae_mm`: tscae_mm/.mim holds
    # links to them in the checkout, and a wheel holds copies
    package_data={
        'tscae_mm': [
            '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml', '.mim/configs/**/*.md', '.mim/tools/*',
            '.mim/demo/**/*'
        ]
    },
    cmdclass={'build_py': BuildPyWithScopeHook},
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
