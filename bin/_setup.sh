# Shared by bin/mock, bin/test and bin/lint: make .venv with the project installed (idempotent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
# Reinstall only when pyproject.toml changed since the last install.
STAMP="$VENV/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)-${EXTRAS:-base}"
if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}"
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

# npm tools (Spectral, Redocly, Prism) live in .cache/npm, installed from the npm registry when missing.
npm_tools() {
    local dir="$ROOT/.cache/npm"
    if [ ! -x "$dir/node_modules/.bin/spectral" ] || [ ! -x "$dir/node_modules/.bin/redocly" ] || [ ! -x "$dir/node_modules/.bin/prism" ]; then
        mkdir -p "$dir"
        (cd "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" \
            @stoplight/spectral-cli@6 @redocly/cli@2 @stoplight/prism-cli@5 >/dev/null)
    fi
    export PATH="$dir/node_modules/.bin:$PATH"
}
