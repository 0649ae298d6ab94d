#!/bin/bash
# diskfull.t - a full file system under the spool and the case store.
#
# The state directory is on its own small tmpfs (8 MiB), far below the
# LMDB map sizes, so that the disk fills before the map does:
#   - the milter behind a real Postfix answers 451 (4.3.0) to a report
#     while the disk is full: nothing spooled, nothing in Postfix's
#     queue, the client keeps the mail; with room again the same mail is
#     accepted and spooled once;
#   - the processor, started for the first time on a full disk, exits
#     with an error (LMDB's lock file would otherwise be a SIGBUS);
#   - the processor daemon, the disk full under its store, keeps the
#     spool entries and the cases it has, logs why, stays up, and
#     applies the entries by itself once there is room: one case each.
# Needs root (Postfix, mount); skipped otherwise.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to mount a tmpfs and run a private Postfix"
	exit 0
fi

. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"
. "$TOP_SRCDIR/tests/lib/postfix.sh"

milter_bin=$TOP_BUILDDIR/milter/todoke-milter
processor_bin=$TOP_BUILDDIR/processor/todoke-processor
ctl_bin=$TOP_BUILDDIR/processor/todokectl
W= MGH= milter_pid= processor_pid= mounted=no

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -20
	[ -n "$W" ] && [ -f "$W/processor.log" ] && sed 's/^/# processor: /' "$W/processor.log" | tail -20
	exit 1
}

for tool in postfix gpg jq setpriv python3 mount; do
	command -v "$tool" >/dev/null || bail "$tool is not installed"
done

stop_pid() { # pid: TERM, and KILL after 10 s
	local t=100
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ "$t" -gt 0 ]; do
		sleep 0.1
		t=$((t - 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	stop_pid "$milter_pid"
	stop_pid "$processor_pid"
	[ -n "$MGH" ] && [ -d "$MGH" ] &&
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env GNUPGHOME="$MGH" gpgconf --kill gpg-agent >/dev/null 2>&1
	postfix_cleanup
	gnupg_cleanup
	[ "$mounted" = yes ] && umount "$W/fs"
	[ -n "$W" ] && rm -rf "$W"
	rm -rf "$tap_tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ------------------------------------------------------------------ setup
W=$(mktemp -d /tmp/tdk-diskfull.XXXXXX) || bail "mktemp"
chmod 755 "$W"
mkdir "$W/fs"
if ! mount -t tmpfs -o size=8m,mode=755 tmpfs "$W/fs" 2>"$W/mount.err"; then
	echo "1..0 # SKIP cannot mount a tmpfs: $(cat "$W/mount.err")"
	exit 0
fi
mounted=yes
gnupg_new_home desk-cv25519 || bail "gnupg home for the desk"
MGH=$GNUPGHOME
GNUPGHOME=$MGH gpgconf --kill gpg-agent
chown -R nobody:nogroup "$MGH"
mkdir -m 750 "$W/fs/state" && chown nobody:nogroup "$W/fs/state" || bail "state directory"

milter_port=$(postfix_free_port) || bail "no free port"
cat >"$W/todoke.conf" <<EOF
paths: {
  state_dir = "$W/fs/state";
  rules_dir = "$TOP_SRCDIR/rules";
};
gpg: {
  home = "$MGH";
};
milter: {
  socket = "inet:$milter_port@127.0.0.1";
  user = "nobody";
  after_capture = "discard";
};
spool: {
  map_size = 268435456;
};
processor: {
  store_map_size = 268435456;
  poll_interval_ms = 200;
};
EOF

ctl() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$ctl_bin" -c "$W/todoke.conf" "$@"; }
spool_count() { ctl spool --json | jq length; }
free_kib() { df -k --output=avail "$W/fs" | tail -n 1 | tr -d ' '; }
# Fills the file system to the last block (as root: tmpfs keeps no
# reserve); the filler is removed to give the room back.
fill() {
	dd if=/dev/zero of="$W/fs/filler" bs=64k >/dev/null 2>&1
	dd if=/dev/zero of="$W/fs/filler2" bs=1k >/dev/null 2>&1
	sync
}
unfill() { rm -f "$W/fs/filler" "$W/fs/filler2"; }

# report N SIZE: a report of about SIZE KiB as $W/report-N.eml
report() {
	{
		printf 'From: Discoverer %s <d%s@discoverer.example>\n' "$1" "$1"
		printf 'To: vuln-info@localhost\nSubject: Report %s\n' "$1"
		printf 'Date: %s\nMessage-ID: <full-%s.%s@discoverer.example>\n\n' "$(date -R)" "$1" "$$"
		printf 'XSS in https://www%s.example.jp/\n' "$1"
		head -c "$(($2 * 1024))" /dev/zero | tr '\0' 'x' | fold -w 76
	} >"$W/report-$1.eml"
}
# send N: once, through Postfix; prints the SMTP code
send() {
	printf '%s\td%s@discoverer.example\tvuln-info@localhost\n' "$W/report-$1.eml" "$1" >"$W/plan"
	STRESS_TRIES=1 python3 "$TOP_SRCDIR/tests/stress/driver.py" "127.0.0.1:$PF_PORT" \
		"$W/plan" "$W/result" 1 || bail "driver failed"
	cut -f 2 "$W/result"
}

"$milter_bin" -f -c "$W/todoke.conf" >>"$W/milter.log" 2>&1 &
milter_pid=$!
postfix_wait_port "$milter_port" 30 || bail "todoke-milter does not listen"
postfix_setup || bail "postfix_setup"
postfix_milter "inet:127.0.0.1:$milter_port"
postfix_conf "default_transport = discard:"
postfix_start || bail "postfix_start"

# ---------------------------------------------------------- the milter
report 1 4
tap_is "with room, a report is accepted" "$(send 1)" 250
tap_is "and spooled" "$(spool_count)" 1
fill
tap_is "the file system is full" "$(free_kib)" 0
report 2 400
tap_like "disk full: the milter has Postfix answer 4xx" "$(send 2)" '^4[0-9][0-9]$'
tap_is "disk full: nothing more in the spool" "$(spool_count)" 1
postfix_wait_queue_empty 30
tap_is "disk full: nothing in Postfix's queue (the client keeps the mail)" \
	"$(postfix_queue_count)" 0
tap_like "the milter logged why" "$(cat "$W/milter.log")" 'No space left on device|disk full|spool full'
tap_like "a small report is refused too, or taken whole" "$(report 3 1; send 3)" '^(4[0-9][0-9]|250)$'
small=$(( $(spool_count) - 1 ))
unfill
tap_is "room again: the client's retry is accepted" "$(send 2)" 250
tap_is "and spooled once" "$(spool_count)" $((2 + small))
id2=$(ctl spool | awk -F '\t' '$7 == "Report 2" { print $1 }')
tap_is "the spool entry holds the whole mail" \
	"$(ctl spool show "$id2" --bodies | jq -r .original | grep -c '^x\{76\}')" \
	"$(grep -c '^x\{76\}' "$W/report-2.eml")"

# ------------------------------------------------------- the processor
start_processor() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$processor_bin" -f -c "$W/todoke.conf" "$@" >>"$W/processor.log" 2>&1 &
	processor_pid=$!
}
wait_spool_empty() {
	for _ in $(seq 150); do
		[ "$(spool_count)" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
entries=$(spool_count)
# LMDB maps its lock file; on a full disk its first write there would be
# a SIGBUS unless the blocks are allocated beforehand.
fill
start_processor --once
wait "$processor_pid"
tap_is "a first start on a full disk fails (status 1, no crash)" "$?" 1
processor_pid=
tap_like "saying the disk is full" "$(cat "$W/processor.log")" \
	'cannot open the case store .*: No space left on device'
unfill
start_processor
wait_spool_empty
tap_is "with room, the daemon applies the $entries entries" \
	"$(ctl cases --json | jq length)" "$entries"
# Stopped, so that two reports wait in the spool when the disk fills.
kill -STOP "$processor_pid"
report 4 300
report 5 300
tap_is "a fourth report is accepted" "$(send 4)" 250
tap_is "a fifth report is accepted" "$(send 5)" 250
entries=$((entries + 2))
fill
: >"$W/processor.log"
kill -CONT "$processor_pid"
sleep 3
tap_ok "disk full: the processor keeps running" kill -0 "$processor_pid"
tap_like "it logs that the store is full" "$(cat "$W/processor.log")" \
	'full.*No space left on device'
tap_is "it keeps the entries it cannot apply" "$(spool_count)" 2
tap_is "and the cases it has" "$(ctl cases --json | jq length)" $((entries - 2))
unfill
wait_spool_empty
tap_is "room again: the processor applies the rest by itself" "$(spool_count)" 0
tap_is "one case per report" "$(ctl cases --json | jq length)" "$entries"
tap_is "each report's Message-ID opened one case" \
	"$(for k in $(seq 1 "$entries"); do ctl timeline "$k" --json; done |
		jq -r '.[] | select(.type == "received") | .message_id' | sort -u | grep -c .)" "$entries"
tap_ok "todokectl check passes" ctl check
tap_ok "the processor is still up" kill -0 "$processor_pid"
if [ "$tap_failures" -gt 0 ]; then
	sed 's/^/# milter: /' "$W/milter.log" | tail -20
	sed 's/^/# processor: /' "$W/processor.log" | tail -20
fi
tap_done
