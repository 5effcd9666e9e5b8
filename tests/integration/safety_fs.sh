#!/bin/sh
# What 'nsreload run' deletes and writes on the file system (issue 9), end to
# end inside tests/lib/sandbox.sh (fresh mount and PID namespaces, scratch
# tmpfs on $SANDBOX, /tmp and /root; HOME=$SANDBOX/home), with a tiny project:
# build.cmd 'true' (or 'false' for a failing build), the app 'sleep 30', box
# pidns; SIGTERM ends the run with exit 0, which runs misc.clean_on_exit.
#   prefix     tmp_dir = "../proj-other" from proj/: the sibling survives
#   absolute   tmp_dir = /…/proj.bak: survives
#   symlink    tmp -> ../proj2: proj2 survives
#   slash      root = "/": refused (exit 2, /tmp not emptied); with
#              build.ignore_dangerous_root_dir, /tmp (a mount) not emptied
#   home       root = $HOME (run, and the bare command) and /root: refused
#   mounts     a bind mount (same file system) and a tmpfs inside tmp_dir, and
#              tmp_dir itself a mount point: the files beneath survive
#   inside     a plain tmp_dir is removed, a symlink in it is not followed
#   buildlog   build-errors.log planted as a symlink to a root-only file: the
#              file is not appended to
#   changed    nsreload-changed.<pid> planted as a symlink: its target is not
#              truncated; the list reaches the build and is removed after it
#   ownership  tmp_dir world-writable without the sticky bit, or owned by
#              another uid: no build log written there, said; sticky is fine
# Usage: safety_fs.sh NSRELOAD [FIXTURE_DIR] [CASE...]; SAFETY_FS_KEEP=DIR keeps the logs there.
set -u
NSR=$1
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
if [ ! -x "$NSR" ]; then
	echo "$NSR: not an executable"
	exit 2
fi
. "$(dirname "$0")/../lib/sandbox.sh"
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck disable=SC2034 # read by sandbox_setup
SANDBOX_COPY=$NSR
sandbox_enter "$0" "$@"
NSR=$SANDBOX/bin/$(basename "$NSR")
shift
[ $# -gt 0 ] && shift

pass=0
fail=0
W=$SANDBOX/w
nsr_pid=""
rc=""

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -f "${log:-}" ] && tail -n 6 "$log" | cut -c1-200 | sed "s/^/    | /"
}
check() { # check NAME COND...
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
has() { grep -qF -- "$1" "$log" 2>/dev/null; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }
same() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
# Exited (a zombie of ours, or reaped).
exited() {
	s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$s" ] || [ "$s" = Z ]
}

# start NAME DIR ARGS...: nsreload run in DIR, JSON log in $W/NAME.log.
start() {
	log=$W/$1.log
	dir=$2
	shift 2
	: >"$log"
	(
		cd "$dir" || exit 125
		exec "$NSR" run --box=pidns --log-format=json --color=never --build.full_bin='sleep 30' \
			--build.delay=100 --stop-timeout=2s "$@" </dev/null >/dev/null 2>"$log"
	) &
	nsr_pid=$!
}
# stop: SIGTERM, then the exit status in $rc (KILL after 10 s).
stop() {
	kill -TERM "$nsr_pid" 2>/dev/null
	wait_for 10000 exited "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
	wait "$nsr_pid"
	rc=$?
	nsr_pid=""
}
# run_to_end: waits for the app to start, stops; true when it started and the exit status is 0.
run_to_end() {
	wait_for 10000 events_at_least run_start 1
	started=$?
	stop
	[ $started = 0 ] && [ "$rc" = 0 ]
}
# refused: nsreload exits by itself with 2 and names the key.
refused() {
	if ! wait_for 5000 exited "$nsr_pid"; then
		stop
		return 1
	fi
	wait "$nsr_pid"
	rc=$?
	nsr_pid=""
	[ "$rc" = 2 ] && has "build.ignore_dangerous_root_dir"
}
# failed_build NAME DIR ARGS...: one run whose first build fails (build.cmd in ARGS), stopped after it.
failed_build() {
	start "$@"
	wait_for 10000 events_at_least build_end 1
	sleep 0.3
	stop
}
cleanup() {
	[ -n "$nsr_pid" ] && stop
	grep " $W/" /proc/self/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount "$m"; done
}
trap cleanup EXIT

# project NAME: $W/NAME/proj, empty; p is its path.
project() {
	p=$W/$1/proj
	mkdir -p "$p"
}
keep() { # keep FILE: a file that must survive
	mkdir -p "$(dirname "$1")"
	echo keep >"$1"
}

clean_on_exit="--misc.clean_on_exit=true"

case_prefix() {
	project prefix
	keep "$W/prefix/proj-other/keep"
	start prefix "$p" $clean_on_exit --tmp_dir=../proj-other --build.cmd=true
	run_to_end
	check "prefix: tmp_dir ../proj-other (a sibling named like root) survives clean_on_exit (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same "$W/prefix/proj-other/keep" keep'
}

case_absolute() {
	project absolute
	keep "$W/absolute/proj.bak/keep"
	start absolute "$p" $clean_on_exit --tmp_dir="$W/absolute/proj.bak" --build.cmd=true
	run_to_end
	check "absolute: tmp_dir $W/absolute/proj.bak (outside root) survives (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same "$W/absolute/proj.bak/keep" keep && has "outside root"'
}

case_symlink() {
	project symlink
	keep "$W/symlink/proj2/keep"
	ln -s ../proj2 "$p/tmp"
	start symlink "$p" $clean_on_exit --build.cmd=true
	run_to_end
	check "symlink: tmp -> ../proj2: proj2 survives, the link is not followed (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same "$W/symlink/proj2/keep" keep && [ -L "$p/tmp" ]'
}

case_slash() {
	project slash
	mkdir -p "$p/watched"
	keep /tmp/marker/keep
	keep /tmp/top
	# Only a small directory is watched: root "/" as a whole would be a big tree.
	inc="--build.include_dir=${W#/}/slash/proj/watched"
	start slash "$p" $clean_on_exit --root=/ "$inc" --build.cmd=true
	if refused; then
		ok "slash: root / refused: exit 2, the key named"
	else
		bad "slash: root / was not refused (rc=$rc)"
	fi
	check "slash: /tmp is not emptied" eval 'same /tmp/marker/keep keep && same /tmp/top keep'
	start slash-key "$p" $clean_on_exit --root=/ "$inc" --build.ignore_dangerous_root_dir=true \
		--build.cmd=true
	run_to_end
	check "slash: with build.ignore_dangerous_root_dir, /tmp (a mount point) is not emptied (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same /tmp/marker/keep keep && same /tmp/top keep'
}

case_home() {
	keep "$HOME/tmp/keep"
	start home "$HOME" $clean_on_exit --build.cmd=true
	check "home: root \$HOME refused: exit 2, the key named, nothing removed" \
		eval 'refused && same "$HOME/tmp/keep" keep'
	log=$W/home-bare.log
	(cd "$HOME" && exec "$NSR" --misc.clean_on_exit=true --build.cmd=true --build.full_bin='sleep 30' \
		--box=pidns </dev/null >/dev/null 2>"$log") &
	nsr_pid=$!
	check "home: the bare command (no 'run') in \$HOME is refused too" refused
	keep /root/tmp/keep
	start root /root $clean_on_exit --build.cmd=true
	check "home: root /root refused" eval 'refused && same /root/tmp/keep keep'
	start home-key "$HOME" --build.ignore_dangerous_root_dir=true --build.cmd=true
	run_to_end
	check "home: root \$HOME with build.ignore_dangerous_root_dir runs (rc=$rc)" [ "$rc" = 0 ]
}

case_mounts() {
	project mounts
	keep "$W/mounts/src/bound"
	mkdir -p "$p/tmp/bind" "$p/tmp/fs" "$p/tmp/sub"
	echo junk >"$p/tmp/junk"
	mount --bind "$W/mounts/src" "$p/tmp/bind"
	mount -t tmpfs -o size=1m nsr-test "$p/tmp/fs"
	keep "$p/tmp/fs/onfs"
	start mounts "$p" $clean_on_exit --build.cmd=true
	run_to_end
	check "mounts: a bind mount (same file system) and a tmpfs in tmp_dir: their files survive (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same "$W/mounts/src/bound" keep && same "$p/tmp/fs/onfs" keep'
	check "mounts: the rest of tmp_dir is removed" eval '! exists "$p/tmp/junk" && ! exists "$p/tmp/sub"'
	umount "$p/tmp/bind" "$p/tmp/fs"

	project mountpoint
	mkdir -p "$p/tmp"
	mount -t tmpfs -o size=1m nsr-test "$p/tmp"
	keep "$p/tmp/onfs"
	start mountpoint "$p" $clean_on_exit --build.cmd=true
	run_to_end
	check "mounts: tmp_dir itself a mount point: its files survive (rc=$rc)" \
		eval '[ "$rc" = 0 ] && same "$p/tmp/onfs" keep'
	umount "$p/tmp"
}

case_inside() {
	project inside
	keep "$W/inside/outside/keep"
	mkdir -p "$p/tmp/a/b"
	echo x >"$p/tmp/a/b/f"
	ln -s ../../outside "$p/tmp/a/dirlink"
	ln -s ../../../outside/keep "$p/tmp/a/b/filelink"
	echo src >"$p/main.sh"
	start inside "$p" $clean_on_exit --build.cmd=true
	run_to_end
	check "inside: tmp_dir removed, root's other files and the symlinks' targets kept (rc=$rc)" \
		eval '[ "$rc" = 0 ] && ! exists "$p/tmp" && same "$p/main.sh" src && same "$W/inside/outside/keep" keep'
}

# A root-only file that a planted symlink points at.
secret() {
	echo "$2" >"$1"
	chmod 600 "$1"
}

case_buildlog() {
	project buildlog
	secret "$W/buildlog/secret" secret
	mkdir -p "$p/tmp"
	ln -s ../../secret "$p/tmp/build-errors.log"
	failed_build buildlog "$p" --build.cmd='echo BUILD-OUTPUT; false'
	check "buildlog: build-errors.log -> a root-only file: not appended to, said" \
		eval 'same "$W/buildlog/secret" secret && [ -L "$p/tmp/build-errors.log" ] && has "symbolic link"'
	# The same with a dangling link: nothing is created at its target.
	project buildlog2
	mkdir -p "$p/tmp"
	ln -s ../../created "$p/tmp/build-errors.log"
	failed_build buildlog2 "$p" --build.cmd='false'
	check "buildlog: a dangling build-errors.log link: nothing created at its target" \
		eval '! exists "$W/buildlog2/created"'
}

case_changed() {
	project changed
	ctl=$W/changed/ctl
	mkdir -p "$p/tmp" "$ctl" "$W/changed/many"
	secret "$W/changed/victim" victim
	# Lists over 64 KiB go through a file in tmp_dir; the build counts its lines.
	start changed "$p" --build.include_ext=sh \
		--build.cmd="if [ -n \"\$NSRELOAD_CHANGED_FILE\" ]; then wc -l <\"\$NSRELOAD_CHANGED_FILE\" >$ctl/count; echo \"\$NSRELOAD_CHANGED_FILE\" >$ctl/name; fi"
	wait_for 10000 events_at_least run_start 1
	# Its old name was nsreload-changed.<pid>, opened with O_CREAT|O_TRUNC.
	ln -s ../../victim "$p/tmp/nsreload-changed.$nsr_pid"
	i=0
	while [ $i -lt 700 ]; do
		: >"$W/changed/many/a-changed-path-long-enough-that-seven-hundred-of-them-need-a-file-rather-than-the-environment-$i.sh"
		i=$((i + 1))
	done
	mv "$W/changed/many" "$p/many"
	wait_for 10000 events_at_least build_end 2
	sleep 0.3
	check "changed: a planted nsreload-changed.<pid> link: its target is not truncated" \
		same "$W/changed/victim" victim
	check "changed: the build read all 700 paths from its own file, removed after the build" \
		eval '[ "$(cat "$ctl/count" 2>/dev/null)" = 700 ] && ! exists "$(cat "$ctl/name")" &&
			[ "$(ls "$p/tmp" | grep -c nsreload-changed)" = 1 ]'
	stop
}

case_ownership() {
	project ownership
	mkdir -p "$p/tmp"
	chmod 777 "$p/tmp"
	failed_build ownership "$p" --build.cmd='false'
	check "ownership: tmp_dir world-writable without sticky bit: no build log there, said" \
		eval '! exists "$p/tmp/build-errors.log" && has "no sticky bit"'
	chmod 1777 "$p/tmp"
	failed_build ownership-sticky "$p" --build.cmd='false'
	check "ownership: with the sticky bit the build log is written" [ -s "$p/tmp/build-errors.log" ]
	rm -f "$p/tmp/build-errors.log"
	chmod 755 "$p/tmp"
	chown 65534:65534 "$p/tmp"
	failed_build ownership-uid "$p" --build.cmd='false'
	check "ownership: tmp_dir owned by another uid: no build log there, said" \
		eval '! exists "$p/tmp/build-errors.log" && has "belongs to uid 65534"'
}

mkdir -p "$W"
[ -n "${SAFETY_FS_KEEP:-}" ] && trap 'cleanup; cp "$W"/*.log "$SAFETY_FS_KEEP"/' EXIT
for c in ${*:-prefix absolute symlink slash home mounts inside buildlog changed ownership}; do
	"case_$c"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
