#!/usr/bin/env bash
# Create a virtual environment with the pinned OpenMMLab stack and tscae_mm (editable).
#
#   bash scripts/setup_env.sh            # venv at ./.venv
#   VENV=/path/to/venv bash scripts/setup_env.sh
#
# mmcv 2.1.0 has no wheel for torch 2.14, so it is compiled once from its source release
# (with ops, C++20) into a wheel kept under pip's cache folder; later runs reuse that wheel.
# Running the script twice is safe: installed pins are left as they are.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
PIP_CACHE="$(${PYTHON} -m pip cache dir 2>/dev/null || echo "$HOME/.cache/pip")"
WHEEL_CACHE="${TSCAE_WHEEL_CACHE:-$PIP_CACHE/tscae_mm-wheels}"

STEP="start"
trap 'echo "setup_env.sh: FAILED at step: $STEP (see the output above)" >&2' ERR
step() { STEP="$1"; echo "==> [$(date +%H:%M:%S)] $STEP"; }

step "create virtual environment at $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Set-ups by earlier versions of this script wrote a start-up hook,
# site-packages/tscae_mm-scope.pth, that ran code of ours at every interpreter
# start; nothing of ours runs there any more (README, "Inheriting our configs
# from your own repository"), so remove it.
step "remove the start-up hook of earlier set-ups (site-packages/tscae_mm-scope.pth), if any"
"$PY" - <<'EOF_PY'
import os
import sysconfig

for folder in sorted({sysconfig.get_paths()[key] for key in ('purelib', 'platlib')}):
    hook = os.path.join(folder, 'tscae_mm-scope.pth')
    if os.path.exists(hook):
        os.remove(hook)
        print(f'removed {hook}')
EOF_PY

STAMP="$VENV/.tscae_mm-setup.sha256"
FINGERPRINT="$(cat "$ROOT/scripts/setup_env.sh" "$ROOT/setup.py" "$ROOT"/requirements/*.txt | sha256sum | cut -d' ' -f1)"
check_imports() {
    "$PY" -c "import tscae_mm, mmcv.ops, mmdet, mmseg, mmpretrain; print('stack OK: torch', __import__('torch').__version__, 'mmcv', __import__('mmcv').__version__)"
}
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$FINGERPRINT" ]]; then
    step "environment already set up by this script version; checking imports"
    check_imports
    echo "setup_env.sh: done (nothing to install). Activate with: source $VENV/bin/activate"
    exit 0
fi
rm -f "$STAMP"
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

# torch 2.14 needs setuptools >= 77.0.3; mmengine 0.10.7 imports pkg_resources,
# which setuptools 81 removed.
SETUPTOOLS_PIN="setuptools>=77.0.3,<81"
step "install build tools ($SETUPTOOLS_PIN)"
pip_install wheel ninja "$SETUPTOOLS_PIN"

step "install torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION"
pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

step "install mmengine and mmcv's runtime requirements"
pip_install "mmengine==0.10.7" "numpy>=1.26" addict packaging Pillow pyyaml yapf opencv-python

if ! "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
    mkdir -p "$WHEEL_CACHE"
    if ! ls "$WHEEL_CACHE"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        step "build mmcv $MMCV_VERSION with ops from source (once; about 11 minutes on 2 cores)"
        BUILD_DIR="$(mktemp -d)"
        # mmcv's setup.py is known to build with setuptools < 70; restore the pin after.
        pip_install "setuptools<70"
        "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
            --no-build-isolation -d "$BUILD_DIR" "mmcv==$MMCV_VERSION"
        tar -xzf "$BUILD_DIR/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD_DIR"
        SRC="$BUILD_DIR/mmcv-$MMCV_VERSION"
        # torch 2.14's headers need C++20; mmcv 2.1.0 asks for C++17.
        sed -i 's/-std=c++17/-std=c++20/g; s/-std=c++14/-std=c++20/g' "$SRC/setup.py"
        grep -q -- '-std=c++20' "$SRC/setup.py"
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
            -w "$WHEEL_CACHE" "$SRC"
        rm -rf "$BUILD_DIR"
        pip_install "$SETUPTOOLS_PIN"
    fi
    step "install mmcv $MMCV_VERSION from the wheel cache $WHEEL_CACHE"
    pip_install --no-deps --force-reinstall "$(ls "$WHEEL_CACHE"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)"
fi

step "install mmdet, mmsegmentation, mmpretrain and their undeclared needs"
pip_install "mmcv==$MMCV_VERSION" "mmdet==3.3.0" "mmsegmentation==1.2.2" "mmpretrain==1.2.0" \
    ftfy regex

step "install tscae_mm (editable) with test extras, at the tested pins"
# requirements/*.txt state ranges; requirements/constraints.txt the versions CI tests
pip_install -c "$ROOT/requirements/constraints.txt" --no-build-isolation -e "$ROOT[tests]"

# openmim, for the test of `mim train tscae_mm CONFIG`, goes into its own
# folder (PYTHONPATH=$VENV/openmim python -m mim ...), not site-packages:
# it requires opendatalab -> openxlab, which pins setuptools~=60.2 against
# torch 2.14's >= 77. `mim train` needs none of openxlab; these are what
# it imports that the stack does not have already.
MIM_TARGET="$VENV/openmim"
if ! PYTHONPATH="$MIM_TARGET" "$PY" -c "import mim" 2>/dev/null; then
    step "install openmim 0.3.9 into $MIM_TARGET (for the mim train test)"
    pip_install --no-deps --upgrade --target "$MIM_TARGET" openmim==0.3.9 \
        pandas==3.1.1 pytz==2023.4 requests==2.28.2 urllib3==1.26.20 idna==3.20 \
        certifi==2026.10.19.post1 charset-normalizer==3.5.3 colorama==0.4.6 \
        tabulate==0.10.0
fi

step "check imports"
check_imports
echo "$FINGERPRINT" > "$STAMP"
echo "setup_env.sh: done. Activate with: source $VENV/bin/activate"
