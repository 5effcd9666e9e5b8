#!/bin/sh
# What an .air.toml means, and air's command line, on the built binary:
#   corpus   every tests/air/corpus/NAME.air.toml (or NAME.nsreload.toml) loads
#            with exit 0 and an empty stderr (or exactly NAME.stderr), and
#            'nsreload config' prints each line of NAME.expected (padding before
#            '#' squeezed): adding a pair of files adds a case
#   flags    Go's flag forms -k v, -k=v, --k v, --k=v set keys; -c and -w still
#            work; an air command line from a Makefile runs unchanged (bare
#            nsreload builds and runs the app)
#   air_wd   air's working-directory variable: the .air.toml is found there,
#            root is there, and a bare run builds there
#   banner   misc.startup_banner: unset prints nsreload's banner, "" none,
#            text that text
# Usage: air_config.sh NSRELOAD [FIXTURE_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../air/corpus"
# shellcheck source=tests/lib/testlib.sh
. "$here/../lib/testlib.sh"
test_begin "$1" air-config
cleanup() {
	[ -n "$nsr_pid" ] && kill -KILL "$nsr_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT


# config_lines DIR [ARGS...]: 'nsreload config ARGS' in DIR; stdout squeezed into $out, stderr in $err, $rc.
config_lines() {
	dir=$1
	shift
	(cd "$dir" && "$NSR" config "$@") >"$work/stdout" 2>"$work/stderr"
	rc=$?
	out=$(sed 's/  *# / # /' "$work/stdout")
	err=$(cat "$work/stderr")
}
has_line() { printf '%s\n' "$out" | grep -qxF -- "$1"; }

# ---- corpus ----
for f in "$corpus"/*.air.toml "$corpus"/*.nsreload.toml; do
	[ -e "$f" ] || continue
	base=$(basename "$f")
	name=${base%%.*}
	case $base in *.nsreload.toml) as=.nsreload.toml ;; *) as=.air.toml ;; esac
	d="$work/corpus-$name"
	mkdir -p "$d"
	cp "$f" "$d/$as"
	config_lines "$d"
	want_err=
	[ -e "$corpus/$name.stderr" ] && want_err=$(cat "$corpus/$name.stderr")
	if [ "$rc" != 0 ]; then
		bad "corpus $base: exit $rc: $err"
		continue
	fi
	if [ "$err" != "$want_err" ]; then
		bad "corpus $base: stderr is '$err', want '$want_err'"
		continue
	fi
	missing=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		if ! has_line "$line"; then
			missing=1
			got=$(printf '%s\n' "$out" | grep -F -- "${line%% = *} = " | head -1)
			bad "corpus $base: want '$line', got '$got'"
		fi
	done <"$corpus/$name.expected"
	[ "$missing" = 0 ] && ok "corpus $base"
done

# ---- flags: Go's flag package forms ----
mkdir -p "$work/flags"
for form in "-build.cmd|make x" "-build.cmd=make x" "--build.cmd|make x" "--build.cmd=make x"; do
	opt=${form%%|*}
	if [ "$opt" != "$form" ]; then
		config_lines "$work/flags" "$opt" "${form#*|}"
	else
		config_lines "$work/flags" "$opt"
	fi
	if [ "$rc" = 0 ] && has_line 'build.cmd = "make x" # flag --build.cmd'; then
		ok "flags: $form"
	else
		bad "flags: $form: exit $rc: $out $err"
	fi
done
config_lines "$work/flags" -build.rerun -tmp_dir=out -w src -e go,md
if [ "$rc" = 0 ] && has_line 'build.rerun = true # flag --build.rerun' && has_line 'tmp_dir = "out" # flag --tmp_dir' &&
	has_line 'build.include_dir = ["src"] # flag --watch' && has_line 'build.include_ext = ["go", "md"] # flag --exts'; then
	ok "flags: -build.rerun -tmp_dir=out next to -w and -e"
else
	bad "flags: -build.rerun -tmp_dir=out -w src -e go,md: exit $rc: $out $err"
fi
config_lines "$work/flags" -build.cmdd x
case $err in
*"unknown option '-build.cmdd'"*"did you mean '--build.cmd'"*) rc_ok=$rc ;;
*) rc_ok=no ;;
esac
if [ "$rc_ok" = 2 ]; then ok "flags: -build.cmdd is unknown, with a suggestion"; else bad "flags: -build.cmdd: exit $rc: $err"; fi

# run_bare NAME DIR [ENV=V...] -- [ARGS...]: bare nsreload in DIR until $DIR/ran exists; log in $log.
run_bare() {
	rname=$1 rdir=$2
	shift 2
	log="$work/$rname.log"
	(
		cd "$rdir" || exit 2
		while [ "$1" != -- ]; do
			# shellcheck disable=SC2163 # "$1" is NAME=VALUE
			export "$1"
			shift
		done
		shift
		exec "$NSR" "$@"
	) >"$log" 2>&1 &
	nsr_pid=$!
}
stop_bare() {
	kill -TERM "$nsr_pid" 2>/dev/null
	wait_for 10000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=
}
# The app: a shell script the build writes, so that no Go is needed.
app_build='mkdir -p ./tmp && printf "#!/bin/sh\necho app-ran > ran\nexec sleep 300\n" > ./tmp/main && chmod +x ./tmp/main'

mkdir -p "$work/make"
run_bare make "$work/make" NSRELOAD_TEST_TOKEN=air_config_$$ -- -build.cmd "$app_build" -build.bin ./tmp/main
if wait_for 15000 file_exists "$work/make/ran"; then
	ok "flags: nsreload -build.cmd '...' -build.bin ./tmp/main builds and runs"
else
	bad "flags: the Makefile line did not run the app: $(cat "$log")"
fi
stop_bare

# ---- air_wd ----
mkdir -p "$work/wd/proj" "$work/wd/elsewhere"
printf '[build]\ncmd = %s\nbin = "./tmp/main"\ninclude_ext = ["txt"]\n' "'$app_build'" >"$work/wd/proj/.air.toml"
out=$(cd "$work/wd/elsewhere" && air_wd="$work/wd/proj" "$NSR" config 2>&1 | sed 's/  *# / # /')
if printf '%s\n' "$out" | grep -qxF "# configuration file: $work/wd/proj/.air.toml (air's format)" &&
	printf '%s\n' "$out" | grep -qxF 'root = "." # environment air_wd' &&
	printf '%s\n' "$out" | grep -qxF 'build.include_ext = ["txt"] # '"$work/wd/proj/.air.toml:4"; then
	ok "air_wd: the .air.toml in \$air_wd is read, and root is there"
else
	bad "air_wd: config from elsewhere: $out"
fi
run_bare wd "$work/wd/elsewhere" "air_wd=$work/wd/proj" NSRELOAD_TEST_TOKEN=air_config_$$ --
if wait_for 15000 file_exists "$work/wd/proj/ran" && [ ! -e "$work/wd/elsewhere/ran" ]; then
	ok "air_wd: a bare run builds and runs in \$air_wd"
else
	bad "air_wd: bare run: $(cat "$log")"
fi
stop_bare

# ---- startup banner ----
# banner_case NAME MISC-LINE WANT-GREP WANT-ABSENT
banner_case() {
	mkdir -p "$work/banner-$1"
	printf '[build]\ncmd = "true"\nbin = "./app"\n%s\n' "$2" >"$work/banner-$1/.air.toml"
	printf '#!/bin/sh\necho app-ran > ran\nexec sleep 300\n' >"$work/banner-$1/app"
	chmod +x "$work/banner-$1/app"
	run_bare "banner-$1" "$work/banner-$1" NSRELOAD_TEST_TOKEN=air_config_$$ --
	wait_for 15000 file_exists "$work/banner-$1/ran"
	stop_bare
	if { [ -z "$3" ] || grep -qE "$3" "$log"; } && { [ -z "$4" ] || ! grep -qE "$4" "$log"; }; then
		ok "banner: $1"
	else
		bad "banner: $1: $(cat "$log")"
	fi
}
banner_case unset "" '^nsreload [0-9]+\.[0-9]+\.[0-9]+' ''
banner_case empty '[misc]
startup_banner = ""' '' '^nsreload [0-9]'
banner_case text '[misc]
startup_banner = "API watcher"' '^API watcher$' '^nsreload [0-9]'

left=$(count_env "NSRELOAD_TEST_TOKEN=air_config_$$")
if [ "$left" = 0 ]; then ok "nothing left behind"; else bad "$left processes left behind"; fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
