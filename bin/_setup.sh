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

# npm tools live in .cache/npm, installed from the npm registry when missing: the spec linters and Prism
# (Spectral, Redocly, Prism), and what tests/clients generates and type-checks TypeScript clients with
# (openapi-typescript, openapi-fetch, typescript: openapi-typescript 7 wants TypeScript 5).
npm_tools() {
    local dir="$ROOT/.cache/npm" bin="$ROOT/.cache/npm/node_modules/.bin"
    if [ ! -x "$bin/spectral" ] || [ ! -x "$bin/redocly" ] || [ ! -x "$bin/prism" ] \
        || [ ! -x "$bin/openapi-typescript" ] || [ ! -x "$bin/tsc" ] || [ ! -f "$dir/node_modules/openapi-fetch/package.json" ]; then
        mkdir -p "$dir"
        (cd "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" \
            @stoplight/spectral-cli@6 @redocly/cli@2 @stoplight/prism-cli@5 \
            openapi-typescript@7 openapi-fetch@0.17 typescript@5 >/dev/null)
    fi
    export PATH="$bin:$PATH"
}
