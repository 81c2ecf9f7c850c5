#!/bin/sh
# Re-extract the interface strings, merge them into every catalog, compile the .mo files.
# Then translate what is new or fuzzy in zh_Hans_CN/LC_MESSAGES/messages.po and run this again.
# The Chinese catalog lives in zh_Hans_CN, not zh_CN: Babel parses the app's "zh_CN" as
# zh_Hans_CN, and gettext looks only for zh_Hans_CN and zh, so a zh_CN folder never loads.
# Usage: portal/translations/update.sh   (PYBABEL=/path/to/pybabel to pick another one)
set -eu
cd "$(dirname "$0")/../.."
if [ -z "${PYBABEL:-}" ]; then
    if [ -x .venv/bin/pybabel ]; then PYBABEL=.venv/bin/pybabel; else PYBABEL=pybabel; fi
fi
DIR=portal/translations
POT=$DIR/messages.pot

"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext -c TRANSLATORS: \
    --add-location=file --sort-output --project=M4S --copyright-holder="M4S contributors" \
    -o "$POT" .
for locale in zh_Hans_CN en; do
    "$PYBABEL" update -i "$POT" -d "$DIR" -l "$locale" --init-missing --ignore-obsolete \
        --ignore-pot-creation-date
done
"$PYBABEL" compile -d "$DIR" --statistics
