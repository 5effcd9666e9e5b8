#!/bin/sh
# Seeds a fuzz corpus directory for one target.
#
# usage: make-corpus.sh [--toml|--glob|--ignore|--dotenv|--http] OUTDIR [TOML_TEST_DIR]
#
# --toml (the default): our own seeds (seeds/toml, the air fixtures) and,
#   where it is found, the TOML 1.0.0 cases of the toml-test corpus (valid
#   and invalid alike: both are interesting inputs). TOML_TEST_DIR defaults
#   to $TOML_TEST_DIR, else <repo>/../shared/toml-test/tests.
# --glob: PATTERN NUL TEXT for every case of tests/unit/test_glob.c, and the
#   names from the air fixtures' include/exclude lists against paths.
# --ignore: the ignore files of tests/unit/test_ignore_diff.c, whole and
#   literal by literal, each followed by NUL and a chunk of that test's paths;
#   a few rules made of the air fixtures' names.
# --dotenv: each string literal of tests/unit/test_dotenv.c.
# --http: the requests of seeds/http (the first byte of each is the size of
#   the pieces fuzz_http feeds, less one).
#
# Files already in OUTDIR stay; new ones get random names.
set -eu

target=toml
case ${1:-} in
--toml | --glob | --ignore | --dotenv | --http)
	target=${1#--}
	shift
	;;
esac
out=${1:?usage: make-corpus.sh [--toml|--glob|--ignore|--dotenv|--http] OUTDIR [TOML_TEST_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
tests=$here/..
mkdir -p "$out"

# Writes stdin to a new file $out/<prefix>-XXXXXX (it runs in a pipeline's
# subshell, so it cannot count).
emit() {
	cat >"$(mktemp "$out/$1-XXXXXX")"
}

# The C string literals of stdin's lines, one line of output per literal,
# still escaped ("\\*" stays two backslashes and a star).
c_strings() {
	sed -n 's/^[^"]*"//p' | sed 's/"[^"]*"/\n/g; s/"[^"]*$//'
}

# Unescapes one C string literal (the escapes the unit tests use).
unescape() {
	printf '%s' "$1" | sed 's/\\\\/\x01/g; s/\\t/\t/g; s/\\r/\r/g; s/\\n/\n/g; s/\\"/"/g; s/\\xef\\xbb\\xbf/\xef\xbb\xbf/g; s/\x01/\\/g'
}

# The air fixtures' include_ext/exclude_dir/... values: names, dirs, extensions.
air_names() {
	grep -hE '^[[:space:]]*"[^"]*",?[[:space:]]*$|(exclude|include)[a-z_]*[[:space:]]*=' "$tests"/fixtures/air/*.toml |
		grep -oE "\"[^\"]*\"|'[^']*'" | tr -d "\"'" | sort -u
}

case $target in
toml)
	# Seeds of our own (tests/fuzz/seeds/toml and the air fixtures), always;
	# the toml-test corpus too, where it is found.
	for f in "$here"/seeds/toml/*.toml "$tests"/fixtures/air/*.toml; do
		cp "$f" "$out/own_$(basename "$f")"
	done
	src=${2:-${TOML_TEST_DIR:-$here/../../../shared/toml-test/tests}}
	list=$src/files-toml-1.0.0
	if [ ! -f "$list" ]; then
		echo "make-corpus.sh: no toml-test corpus ($list): our own seeds only" >&2
		list=/dev/null
	fi
	while IFS= read -r f; do
		case $f in
		*.toml) ;;
		*) continue ;;
		esac
		# flatten the path: valid/string/foo.toml -> valid_string_foo.toml
		cp "$src/$f" "$out/$(printf '%s' "$f" | tr / _)"
	done <"$list"
	;;
glob)
	grep -E '^[[:space:]]*\{ "' "$tests/unit/test_glob.c" | grep -oE '\{ "([^"\\]|\\.)*", "([^"\\]|\\.)*"' |
		sed 's/^{ "//; s/", "/\x02/; s/"$//' >"$out/.cases"
	while IFS=$(printf '\002') read -r pat text; do
		{
			unescape "$pat"
			printf '\0'
			unescape "$text"
		} | emit unit
	done <"$out/.cases"
	rm -f "$out/.cases"
	for name in $(air_names); do
		for pat in "$name" "*.$name" "**/$name" "$name/**" "**/*$name"; do
			for text in "$name" "x.$name" "a/$name" "$name/b/c" "a/b/x$name"; do
				printf '%s\0%s' "$pat" "$text" | emit air
			done
		done
	done
	;;
http)
	for f in "$here"/seeds/http/*; do
		cp "$f" "$out/own_$(basename "$f")"
	done
	;;
dotenv)
	# Every string literal of the dotenv unit test, one seed each.
	grep -oE '"([^"\\]|\\.)*"' "$tests/unit/test_dotenv.c" | sed 's/^"//; s/"$//' |
		while IFS= read -r lit; do
			unescape "$lit" | emit unit
		done
	;;
ignore)
	# The paths of the git differential test, as the fuzz target reads them
	# (one a line, a trailing '/' for a directory), in chunks of 30: the
	# target looks at 32 paths at most.
	src=$tests/unit/test_ignore_diff.c
	{
		sed -n '/^static const char \*const dirs\[\]/,/^};/p' "$src" | c_strings | sed 's,$,/,'
		sed -n '/^static const char \*const names\[\]/,/^};/p' "$src" | c_strings
	} | grep -v '^/\?$' >"$out/.paths"
	(cd "$out" && split -l 30 .paths .chunk-)
	set -- "$out"/.chunk-*
	nchunks=$#
	# Every ignore file of the corpus whole, and each of its literals alone.
	sed -n '/^} corpus\[\] = {/,/^};/p' "$src" | grep -oE '"([^"\\]|\\.)*"' | sed 's/^"//; s/"$//' >"$out/.lits"
	whole="" i=0
	while IFS= read -r lit; do
		i=$((i + 1))
		eval "paths=\${$((i % nchunks + 1))}"
		case $lit in
		*.gitignore)
			if [ -n "$whole" ]; then
				{ printf '%s\0' "$whole" && cat "$paths"; } | emit file
			fi
			whole=""
			continue
			;;
		esac
		rule=$(unescape "$lit")
		whole="$whole$rule
"
		{ printf '%s\0' "$rule" && cat "$paths"; } | emit rule
	done <"$out/.lits"
	{ printf '%s\0' "$whole" && cat "$1"; } | emit file
	for name in $(air_names); do
		for rule in "$name" "$name/" "/$name" "*.$name" "!$name" "**/$name/**"; do
			{ printf '%s\n\0' "$rule" && printf '%s\n' "$name" "$name/" "a/$name" "a/$name/" "x.$name"; } | emit air
		done
	done
	rm -f "$out"/.paths "$out"/.chunk-* "$out/.lits"
	;;
esac
echo "make-corpus.sh: $(ls "$out" | wc -l) files in $out"
