# Shell helpers shared by the integration tests (sourced, never run).
# events and events_at_least read the JSON log named by $log.

# Processes whose environment holds exactly VAR=VALUE ($1).
count_env() {
	n=0
	for e in /proc/[0-9]*/environ; do
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "$1"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# wait_for MS COMMAND...: true as soon as COMMAND succeeds, false after MS milliseconds.
wait_for() {
	deadline=$(($(date +%s%N) / 1000000 + $1))
	shift
	while ! "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

events() { grep -c "\"event\":\"$1\"" "$log" 2>/dev/null || true; }
events_at_least() { [ "$(events "$1")" -ge "$2" ]; }
file_exists() { [ -e "$1" ]; }
pid_alive() { kill -0 "$1" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
none_with_env() { [ "$(count_env "$1")" = 0 ]; }
