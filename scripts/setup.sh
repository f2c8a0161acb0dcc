#!/usr/bin/env bash
# Installs what Tollbook needs: Debian packages (when root), a virtualenv with the pinned Python
# packages, and the compiled Japanese catalog. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)  # pdftotext/pdffonts: the PDF tests (issue 10)
[ -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ] || [ -f /usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf ] \
  || need_apt+=(fonts-ipaexfont-gothic)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Debianパッケージを導入します: ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "注意: ${need_apt[*]} が未導入です（sudo apt-get install ${need_apt[*]}）。ブラウザテストとPDFに必要です。" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
.venv/bin/pybabel compile -d translations -D messages 2>&1 | grep -v "^compiling" || true
