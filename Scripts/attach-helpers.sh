# Shell helpers shared by Scripts/attach-stress and Scripts/soak (sourced,
# not run): deadlines, waiting for a line, and one attach/snapshot/detach
# cycle of `swiftleak` against a process the script started itself.
# Expects $bin (the swiftleak binary).

now_ms() { date +%s%3N; }

# wait_for PATTERN SECONDS FILE: waits until a line of FILE matches PATTERN.
wait_for() {
    local deadline=$(( $(now_ms) + $2 * 1000 ))
    until grep -q "$1" "$3" 2>/dev/null; do
        (( $(now_ms) > deadline )) && return 1
        sleep 0.01
    done
}

# agent_idle PID: waits (10 s at most) until the agent's thread, named
# "swiftleak", is gone from PID: it ends only after putting the GOT back.
agent_idle() {
    local deadline=$(( $(now_ms) + 10000 ))
    while grep -qx swiftleak /proc/"$1"/task/*/comm 2>/dev/null; do
        (( $(now_ms) > deadline )) && return 1
        sleep 0.01
    done
}

# wait_exit PID SECONDS: waits for a child of this shell to exit (killing it
# with SIGKILL past the deadline); sets $exit_status. Returns 1 if it had to kill.
# Its stderr goes nowhere: bash reports a child killed by a signal there.
wait_exit() {
    local deadline=$(( $(now_ms) + $2 * 1000 )) killed=0
    while kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1") != Z* ]]; do
        if (( $(now_ms) > deadline )); then kill -9 "$1"; killed=1; break; fi
        sleep 0.01
    done
    wait "$1"; exit_status=$?
    return $killed
} 2>/dev/null

# attach_cycle TARGET LOG OUTPUT LABEL: `swiftleak attach` (its pid in
# $attach), a snapshot, a detach, the attach's exit 0 and the agent's thread
# gone. Prints one "LABEL: problem" line per problem; returns 1 if any.
attach_cycle() {
    local target=$1 log=$2 output=$3 label=$4 ok=0 snap
    "$bin" attach "$target" --output "$output" 2>"$log" &
    attach=$!
    if ! wait_for "attached to $target" 30 "$log"; then
        echo "$label: no attach: $(tail -1 "$log")"; ok=1
    else
        snap=$(timeout 60 "$bin" snapshot "$target") && [[ -f $snap ]] || { echo "$label: snapshot failed"; ok=1; }
        timeout 60 "$bin" detach "$target" >/dev/null || { echo "$label: detach failed"; ok=1; }
    fi
    wait_exit "$attach" 30 || { echo "$label: attach did not exit"; ok=1; }
    ((exit_status == 0)) || { echo "$label: attach exited $exit_status: $(tail -1 "$log")"; ok=1; }
    attach=
    agent_idle "$target" || { echo "$label: agent thread still running"; ok=1; }
    return $ok
}
