# sandbox.sh - runs a safety test where a regression cannot harm the machine
# (sourced, never run).
#
# sandbox_enter SCRIPT ARGS... re-runs SCRIPT (once) in fresh mount and PID
# namespaces and, inside them:
#  - mounts a scratch tmpfs on the first of /mnt, /srv, /opt, /media that
#    exists, and sets SANDBOX to it;
#  - copies each file named in SANDBOX_COPY (space-separated paths, e.g. the
#    nsreload binary) to $SANDBOX/bin, since /tmp is covered next;
#  - mounts a tmpfs on /tmp and on /root, and sets HOME to $SANDBOX/home, so
#    that a clean-up that escapes its directory meets only throwaway files;
#  - kill(-1) there reaches only the namespace's own processes.
# The mounts are private to the namespace and vanish with it. Without root or
# unshare it exits 77 (skip), or 1 when NSRELOAD_TEST_REQUIRE is set.
sandbox_enter() {
	if [ "${NSRELOAD_IN_SANDBOX:-}" = 1 ]; then
		sandbox_setup
		return
	fi
	if ! unshare --mount --pid --fork --mount-proc true 2>/dev/null; then
		echo "cannot make mount and PID namespaces here (root and unshare are needed)"
		[ -n "${NSRELOAD_TEST_REQUIRE:-}" ] && exit 1
		exit 77
	fi
	NSRELOAD_IN_SANDBOX=1 exec unshare --mount --pid --fork --mount-proc --propagation private \
		sh "$@"
}

sandbox_setup() {
	SANDBOX=""
	for d in /mnt /srv /opt /media; do
		if [ -d "$d" ]; then
			SANDBOX=$d
			break
		fi
	done
	if [ -z "$SANDBOX" ] || ! mount -t tmpfs -o size=256m,mode=755 nsreload-sandbox "$SANDBOX"; then
		echo "sandbox: cannot mount a scratch tmpfs"
		exit 1
	fi
	mkdir -p "$SANDBOX/bin" "$SANDBOX/home"
	for f in ${SANDBOX_COPY:-}; do
		cp -p "$f" "$SANDBOX/bin/" || exit 1
	done
	mount -t tmpfs -o size=64m,mode=1777 nsreload-sandbox-tmp /tmp || exit 1
	mount -t tmpfs -o size=16m,mode=700 nsreload-sandbox-root /root || exit 1
	HOME=$SANDBOX/home
	export HOME SANDBOX
}
