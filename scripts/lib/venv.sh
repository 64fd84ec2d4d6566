# shellcheck shell=bash
# python_venv REQUIREMENTS VENV: a virtual environment at VENV with REQUIREMENTS installed from
# PyPI, reused while that file and the Python version are the same; sets `python` to its
# interpreter. The caller defines `fail`.
python_venv() {
    local requirements=$1 venv=$2 key
    key="$(sha256sum "$requirements" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
    if [ "$(cat "$venv/.requirements-key" 2>/dev/null)" != "$key" ]; then
        echo "installing $requirements into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" || fail "python3 -m venv did not work (on Debian and Ubuntu: apt-get install python3-venv)"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" \
            || fail "pip could not install $requirements"
        echo "$key" >"$venv/.requirements-key"
    fi
    python="$venv/bin/python"
}
