# systemd_user_env.sh - a test environment "normal user on a systemd desktop":
# a real `systemd --user` with its own socket-activated session bus, for an
# unprivileged user (uid 65534, nobody, HOME a temp dir), inside private
# namespaces. Sourced by bash (never run); its functions need root.
#
#   sdenv_start ENV_CGROUP   builds it; ENV_CGROUP is a cgroup2 directory to
#                            create (its parent must exist and be the
#                            caller's own, below the caller's cgroup, e.g.
#                            <cgroup2 mount>/nsreload-envmatrix.<pid>/systemd-user)
#   sdenv_run CMD...         CMD as the user inside, with the session bus
#   sdenv_run_root CMD...    CMD as root inside
#   sdenv_stop_bus           the manager and its bus stopped ("bus gone")
#   sdenv_scopes             the nsreload-*.scope units and cgroups left
#   sdenv_cleanup            everything the environment started ended, its
#                            cgroups and files removed
#
# The layout (the facts behind it: /work/shared/notes/systemd-user-env.md):
#   ENV_CGROUP               chowned to the user as a delegated subtree would
#                            be (the directory and the files named in
#                            /sys/kernel/cgroup/delegate); the root of the
#                            environment's cgroup namespace, where the
#                            manager starts (it moves itself to init.scope);
#   ENV_CGROUP/harness       where the namespaces' PID 1 and every sdenv_run
#                            command start. It must lie inside the user's tree:
#                            systemd moves the caller of StartTransientUnit
#                            into the scope, which needs write access to the
#                            common ancestor (ENV_CGROUP). It stays root's
#                            (0755, like an ssh login's session-N.scope), so
#                            the user cannot make cgroups where it is and a
#                            delegated scope is its only way to cgroup2;
#                            SDENV_HARNESS_OWNER=user chowns it as a delegated
#                            subtree instead (the user can then make boxes in
#                            place, without systemd).
#   Inside the mount namespace only: the host's /sys/fs/cgroup layout
#   unmounted (a unified-only view, as on a current desktop), a fresh cgroup2
#   mount on /sys/fs/cgroup
#   (made inside the cgroup namespace, so its root is ENV_CGROUP; the kernel
#   applies cgroup2 mount options to the shared superblock only from the
#   initial cgroup namespace, apply_cgroup_root_flags(), so the host's
#   nsdelegate & co. stay as they are), tmpfs on /run/systemd (with
#   /run/systemd/system: without it the manager says "system has not been
#   booted with systemd") and on /run/user (/run/user/UID 0700, the user's;
#   one tmpfs over /run where the host lacks either directory), and a file of
#   the state dir bound over /dev/kmsg: the manager's log (its stderr,
#   env.out, where there is no /dev/kmsg).
# Every process of the environment lives below ENV_CGROUP, so sdenv_cleanup
# ends them all with ENV_CGROUP/cgroup.kill (a cgroup that never holds the
# caller) and then removes the cgroups, deepest first; the namespaces, and the
# mounts in them, go with their last process.
#
# Variables, after sdenv_start:
#   SDENV_UID, SDENV_GID     the user (65534 unless set before sdenv_start)
#   SDENV_CG                 ENV_CGROUP
#   SDENV_DIR                the state dir (0755): home/ (the user's HOME,
#                            the user's), manager.log (the manager's log,
#                            the user's), env.out (the environment's stdout
#                            and stderr)
#   SDENV_PID1               the host pid of the namespaces' PID 1: what
#                            sdenv_run nsenters
#   SDENV_MANAGER            the host pid of `systemd --user` ("" once stopped)
#   SDENV_RUNTIME            /run/user/UID, as seen inside
#   SDENV_READY_MS           how long the manager took to say "running"
# Settings: SDENV_TIMEOUT_MS (readiness, default 30000), SDENV_SYSTEMD (the
# manager binary, default /lib/systemd/systemd), SDENV_HARNESS_OWNER (root or
# user, above), SDENV_UID/SDENV_GID.

SDENV_LIB=$(readlink -f "${BASH_SOURCE[0]}")
: "${SDENV_UID:=65534}"
: "${SDENV_GID:=65534}"
: "${SDENV_SYSTEMD:=/lib/systemd/systemd}"
: "${SDENV_TIMEOUT_MS:=30000}"
: "${SDENV_HARNESS_OWNER:=root}"
SDENV_RUNTIME="/run/user/$SDENV_UID"
# PID 1 sources this file again with SDENV_DIR in its environment: keep it.
if [ -z "${SDENV_INIT:-}" ]; then
	SDENV_CG=""
	SDENV_DIR=""
	SDENV_PID1=""
	SDENV_BG=""
	SDENV_MANAGER=""
	SDENV_READY_MS=""
fi

_sdenv_ms() { echo $(($(date +%s%N) / 1000000)); }
_sdenv_err() { echo "sdenv: $*" >&2; }

# sdenv_can_start: why this host cannot have the environment (on stdout, false),
# or true. Needs root, the manager binary, the tools, and a cgroup2 mount.
sdenv_can_start() {
	local t
	if [ "$(id -u)" != 0 ]; then
		echo "not root"
		return 1
	fi
	if [ ! -x "$SDENV_SYSTEMD" ]; then
		echo "no $SDENV_SYSTEMD"
		return 1
	fi
	for t in unshare nsenter setpriv systemctl busctl systemd-run; do
		if ! command -v "$t" >/dev/null; then
			echo "no $t"
			return 1
		fi
	done
	if ! [ -e /usr/lib/systemd/user/dbus.socket ] && ! [ -e /etc/systemd/user/dbus.socket ]; then
		echo "no dbus.socket user unit (package dbus-user-session)"
		return 1
	fi
	if [ -z "$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)" ]; then
		echo "no cgroup2 mount"
		return 1
	fi
	return 0
}

# _sdenv_chown_delegated DIR: DIR and its delegatable files the user's, as
# systemd's Delegate=yes does.
_sdenv_chown_delegated() {
	local f
	chown "$SDENV_UID:$SDENV_GID" "$1" || return 1
	for f in $(cat /sys/kernel/cgroup/delegate 2>/dev/null || echo cgroup.procs cgroup.threads cgroup.subtree_control); do
		[ -e "$1/$f" ] && { chown "$SDENV_UID:$SDENV_GID" "$1/$f" || return 1; }
	done
	return 0
}

# The namespaces' PID 1 (run by sdenv_start through unshare, in harness/):
# makes the mounts, starts the manager in the subtree root as the user, and
# then only reaps (bash reaps every child, orphans included) until killed.
_sdenv_init() {
	# A unified-only view, as on a current systemd desktop: the host's layout
	# (hybrid here) unmounted in this private mount namespace only.
	if mountpoint -q /sys/fs/cgroup; then
		umount -R /sys/fs/cgroup || {
			echo "sdenv: cannot unmount the host's /sys/fs/cgroup layout" >&2
			exit 1
		}
	fi
	mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 /sys/fs/cgroup || {
		echo "sdenv: cannot mount cgroup2" >&2
		exit 1
	}
	# Mount points are never made on the host's file systems: where the host
	# lacks /run/systemd or /run/user, a tmpfs over all of /run holds both.
	if [ -d /run/systemd ] && [ -d /run/user ]; then
		mount -t tmpfs -o mode=0755,nosuid,nodev sdenv-systemd /run/systemd &&
			mount -t tmpfs -o mode=0755,nosuid,nodev sdenv-user /run/user
	else
		mount -t tmpfs -o mode=0755,nosuid,nodev sdenv-run /run && mkdir /run/systemd /run/user
	fi && mkdir /run/systemd/system && mkdir -m 0700 "$SDENV_RUNTIME" &&
		chown "$SDENV_UID:$SDENV_GID" "$SDENV_RUNTIME" || {
		echo "sdenv: cannot mount /run/systemd and /run/user" >&2
		exit 1
	}
	# The manager's log: no journald here; kmsg bound to a file of ours where
	# there is a /dev/kmsg to mount over, else its stderr (env.out).
	local target=console
	if [ -e /dev/kmsg ] && mount --bind "$SDENV_DIR/manager.log" /dev/kmsg; then
		target=kmsg
	fi
	(
		echo "$BASHPID" >/sys/fs/cgroup/cgroup.procs || exit 1
		cd "$SDENV_DIR/home" || exit 1
		exec setpriv --reuid="$SDENV_UID" --regid="$SDENV_GID" --clear-groups --inh-caps=-all -- \
			env -i HOME="$SDENV_DIR/home" USER=nobody LOGNAME=nobody PATH=/usr/local/bin:/usr/bin:/bin \
			XDG_RUNTIME_DIR="$SDENV_RUNTIME" "$SDENV_SYSTEMD" --user --log-target="$target" --log-level=info
	) &
	echo "$!" >"$SDENV_DIR/manager.nspid"
	while :; do
		sleep 3600 &
		wait "$!"
	done
}

# sdenv_start ENV_CGROUP: the environment built and its manager running
# (or degraded), within SDENV_TIMEOUT_MS. False, with the reason on stderr
# and nothing left, when it cannot be had.
sdenv_start() {
	local why t0 state p
	if [ -n "$SDENV_CG" ]; then
		_sdenv_err "already started ($SDENV_CG)"
		return 1
	fi
	if ! why=$(sdenv_can_start); then
		_sdenv_err "cannot build the environment: $why"
		return 1
	fi
	if [ $# -ne 1 ] || [ ! -d "$(dirname "$1")" ] || [ "$(stat -f -c %T "$(dirname "$1")")" != cgroup2fs ]; then
		_sdenv_err "sdenv_start: ${1:-(none)}: its parent is not a cgroup2 directory"
		return 1
	fi
	mkdir "$1" || return 1
	SDENV_CG=$1
	SDENV_DIR=$(mktemp -d /tmp/nsreload-sdenv.XXXXXX) || {
		sdenv_cleanup
		return 1
	}
	chmod 0755 "$SDENV_DIR" && mkdir -m 0700 "$SDENV_DIR/home" && : >"$SDENV_DIR/manager.log" &&
		chown "$SDENV_UID:$SDENV_GID" "$SDENV_DIR/home" "$SDENV_DIR/manager.log" &&
		mkdir "$SDENV_CG/harness" && _sdenv_chown_delegated "$SDENV_CG" &&
		{ [ "$SDENV_HARNESS_OWNER" != user ] || _sdenv_chown_delegated "$SDENV_CG/harness"; } || {
		_sdenv_err "cannot set up $SDENV_CG and $SDENV_DIR"
		sdenv_cleanup
		return 1
	}
	t0=$(_sdenv_ms)
	# Into ENV_CGROUP, a cgroup namespace rooted there, into harness/, then
	# mount and PID namespaces; bash's exec keeps the pid: $! is unshare's.
	(
		export SDENV_LIB SDENV_UID SDENV_GID SDENV_SYSTEMD SDENV_DIR SDENV_RUNTIME SDENV_INIT=1
		echo "$BASHPID" >"$SDENV_CG/cgroup.procs" || exit 1
		exec unshare --cgroup -- bash -c '
			echo "$$" >"$0/harness/cgroup.procs" || exit 1
			exec unshare --mount --propagation private --pid --fork --mount-proc -- \
				bash -c ". \"\$SDENV_LIB\" && _sdenv_init"' "$SDENV_CG"
	) </dev/null >"$SDENV_DIR/env.out" 2>&1 &
	SDENV_BG=$!
	# bash reaps it by itself; disowned, its end prints no "Killed" job line.
	disown "$SDENV_BG"
	# PID 1: the child of unshare, in harness/.
	while [ -z "$SDENV_PID1" ]; do
		for p in $(cat "$SDENV_CG/harness/cgroup.procs" 2>/dev/null); do
			[ "$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$SDENV_BG" ] && SDENV_PID1=$p
		done
		[ -n "$SDENV_PID1" ] && break
		if ! kill -0 "$SDENV_BG" 2>/dev/null || [ $(($(_sdenv_ms) - t0)) -ge "$SDENV_TIMEOUT_MS" ]; then
			_sdenv_err "the namespaces did not come up: $(cat "$SDENV_DIR/env.out")"
			sdenv_cleanup
			return 1
		fi
		sleep 0.02
	done
	until state=$(sdenv_run systemctl --user is-system-running 2>/dev/null) ||
		[ "$state" = degraded ]; do
		if [ $(($(_sdenv_ms) - t0)) -ge "$SDENV_TIMEOUT_MS" ]; then
			_sdenv_err "the user manager did not say running within ${SDENV_TIMEOUT_MS} ms (last: '${state}'); its log:"
			tail -n 30 "$SDENV_DIR/manager.log" >&2
			tail -n 10 "$SDENV_DIR/env.out" >&2
			sdenv_cleanup
			return 1
		fi
		sleep 0.05
	done
	SDENV_READY_MS=$(($(_sdenv_ms) - t0))
	SDENV_MANAGER=$(head -n 1 "$SDENV_CG/init.scope/cgroup.procs" 2>/dev/null)
	return 0
}

# _sdenv_enter USER|root CMD...: CMD in the environment's namespaces, moved
# into harness/ first (through the host's path, before nsenter forks into the
# PID namespace), as the user with the session's variables or as root.
_sdenv_enter() {
	local who=$1
	shift
	if [ -z "$SDENV_PID1" ] || ! kill -0 "$SDENV_PID1" 2>/dev/null; then
		_sdenv_err "no environment"
		return 125
	fi
	(
		echo "$BASHPID" >"$SDENV_CG/harness/cgroup.procs" || exit 125
		if [ "$who" = root ]; then
			exec nsenter -t "$SDENV_PID1" --mount --cgroup --pid -- "$@"
		fi
		exec nsenter -t "$SDENV_PID1" --mount --cgroup --pid --wd="$SDENV_DIR/home" -- \
			setpriv --reuid="$SDENV_UID" --regid="$SDENV_GID" --clear-groups --inh-caps=-all -- \
			env -i HOME="$SDENV_DIR/home" USER=nobody LOGNAME=nobody PATH=/usr/local/bin:/usr/bin:/bin \
			XDG_RUNTIME_DIR="$SDENV_RUNTIME" DBUS_SESSION_BUS_ADDRESS="unix:path=$SDENV_RUNTIME/bus" "$@"
	)
}
sdenv_run() { _sdenv_enter user "$@"; }
sdenv_run_root() { _sdenv_enter root "$@"; }

# sdenv_stop_bus [keep-socket]: the manager stopped as a logout would
# (SIGTERM: a user manager starts exit.target, which stops dbus too), then the
# bus's socket removed, so that DBUS_SESSION_BUS_ADDRESS points to nothing
# (ENOENT); with keep-socket a socket file that nobody listens on is left there
# instead (ECONNREFUSED, as after a crash). The namespaces stay for further
# sdenv_run. False when the manager outlives 10 s.
sdenv_stop_bus() {
	local t0 keep=${1:-}
	[ -n "$SDENV_MANAGER" ] || return 0
	t0=$(_sdenv_ms)
	kill -TERM "$SDENV_MANAGER" 2>/dev/null
	while kill -0 "$SDENV_MANAGER" 2>/dev/null && [ "$(awk '$1 == "State:" { print $2 }' "/proc/$SDENV_MANAGER/status" 2>/dev/null)" != Z ]; do
		if [ $(($(_sdenv_ms) - t0)) -ge 10000 ]; then
			_sdenv_err "the user manager $SDENV_MANAGER did not exit within 10 s of SIGTERM"
			return 1
		fi
		sleep 0.02
	done
	SDENV_MANAGER=""
	# systemd leaves the socket file (dbus.socket has no RemoveOnStop).
	[ "$keep" = keep-socket ] || sdenv_run_root rm -f "$SDENV_RUNTIME/bus"
}

# sdenv_scopes: the nsreload-*.scope units the manager knows (when it still
# runs) and the nsreload-*.scope cgroups below ENV_CGROUP, one a line as
# "unit NAME STATE" and "cgroup PATH"; nothing when none is left.
sdenv_scopes() {
	[ -n "$SDENV_CG" ] && [ -d "$SDENV_CG" ] || return 0
	if [ -n "$SDENV_MANAGER" ]; then
		sdenv_run systemctl --user list-units --all --no-legend --plain 'nsreload-*.scope' 2>/dev/null |
			awk 'NF { print "unit", $1, $3 "/" $4 }'
	fi
	find "$SDENV_CG" -mindepth 1 -type d -name 'nsreload-*.scope' -printf 'cgroup %p\n'
}

# sdenv_cleanup: every process of the environment ended (ENV_CGROUP's
# cgroup.kill: the caller is never in it), its cgroups removed deepest first
# (each retried up to 5 s), the state dir removed. Named on stderr and false
# when something stays.
sdenv_cleanup() {
	local d rc=0 tries
	if [ -n "$SDENV_CG" ] && [ -d "$SDENV_CG" ]; then
		echo 1 >"$SDENV_CG/cgroup.kill" 2>/dev/null
		tries=0
		while grep -q '^populated 1' "$SDENV_CG/cgroup.events" 2>/dev/null; do
			tries=$((tries + 1))
			if [ "$tries" -ge 250 ]; then
				_sdenv_err "processes left in $SDENV_CG: $(cat "$SDENV_CG/cgroup.procs" | tr '\n' ' ')"
				rc=1
				break
			fi
			[ $((tries % 25)) = 0 ] && echo 1 >"$SDENV_CG/cgroup.kill" 2>/dev/null
			sleep 0.02
		done
		for d in $(find "$SDENV_CG" -depth -type d); do
			tries=0
			until rmdir "$d" 2>/dev/null || [ ! -d "$d" ]; do
				tries=$((tries + 1))
				if [ "$tries" -ge 100 ]; then
					_sdenv_err "cannot remove the environment's cgroup $d"
					rc=1
					break
				fi
				sleep 0.05
			done
		done
	fi
	if [ -n "$SDENV_DIR" ] && [ -d "$SDENV_DIR" ]; then
		rm -rf "$SDENV_DIR"
	fi
	SDENV_CG=""
	SDENV_DIR=""
	SDENV_PID1=""
	SDENV_BG=""
	SDENV_MANAGER=""
	return "$rc"
}
