#!/bin/sh
# Seeds a fuzz corpus directory with the TOML 1.0.0 cases of the toml-test
# corpus (valid and invalid alike: both are interesting inputs).
#
# usage: make-corpus.sh OUTDIR [TOML_TEST_DIR]
# TOML_TEST_DIR defaults to $TOML_TEST_DIR, else <repo>/../shared/toml-test/tests.
set -eu

out=${1:?usage: make-corpus.sh OUTDIR [TOML_TEST_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
src=${2:-${TOML_TEST_DIR:-$here/../../../shared/toml-test/tests}}
list=$src/files-toml-1.0.0

if [ ! -f "$list" ]; then
	echo "make-corpus.sh: $list not found" >&2
	exit 1
fi
mkdir -p "$out"
n=0
while IFS= read -r f; do
	case $f in
	*.toml) ;;
	*) continue ;;
	esac
	# flatten the path: valid/string/foo.toml -> valid_string_foo.toml
	cp "$src/$f" "$out/$(printf '%s' "$f" | tr / _)"
	n=$((n + 1))
done <"$list"
echo "make-corpus.sh: $n files in $out"
