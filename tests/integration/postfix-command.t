#!/bin/bash
# postfix-command.t - a staff command by signed mail through a real
# Postfix on loopback: swaks sends it to the control address, todoke-milter
# (as nobody, in smtpd_milters) checks the signature and spools it, the
# processor applies it to the case and queues the transcript. The same
# mail sent again, and an unsigned one with alice's From, change nothing.
# Needs root (Postfix's master); skipped otherwise.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to run a private Postfix"
	exit 0
fi

. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"
. "$TOP_SRCDIR/tests/lib/staffmail.sh"
. "$TOP_SRCDIR/tests/lib/postfix.sh"

milter_bin=$TOP_BUILDDIR/milter/todoke-milter
processor_bin=$TOP_BUILDDIR/processor/todoke-processor
ctl_bin=$TOP_BUILDDIR/processor/todokectl
ALICE=81291E614864BD4B40862A479F3A85E79FA9BE53
W= milter_pid= MGH=

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -30
	[ -n "${PF_MAILLOG:-}" ] && [ -f "$PF_MAILLOG" ] && sed 's/^/# maillog: /' "$PF_MAILLOG" | tail -30
	exit 1
}

for tool in swaks smtp-sink postfix gpg jq runuser; do
	command -v "$tool" >/dev/null || bail "$tool is not installed"
done

cleanup() {
	if [ -n "$milter_pid" ]; then
		kill -TERM "$milter_pid" 2>/dev/null
		wait "$milter_pid" 2>/dev/null
	fi
	[ -n "$MGH" ] && [ -d "$MGH" ] &&
		runuser -u nobody -- env GNUPGHOME="$MGH" gpgconf --kill gpg-agent >/dev/null 2>&1
	postfix_cleanup
	gnupg_cleanup
	[ -n "$W" ] && rm -rf "$W"
	rm -rf "$tap_tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ------------------------------------------------------------------ setup
W=$(mktemp -d /tmp/tdk-pfc.XXXXXX) || bail "mktemp"
chmod 755 "$W"
# The milter's home: the desk's key and the staff's public keys; the
# signing home ($SIGN_HOME) holds alice's secret key.
gnupg_new_home desk-cv25519 || bail "gnupg home for the milter"
MGH=$GNUPGHOME
staffmail_setup "$MGH" >/dev/null 2>&1 || bail "signing home"
GNUPGHOME=$MGH gpgconf --kill gpg-agent
chown -R nobody:nogroup "$MGH"
mkdir -p "$W/state" && chown nobody:nogroup "$W/state" && chmod 750 "$W/state"

milter_port=$(postfix_free_port) || bail "no free port"
cat >"$W/todoke.conf" <<EOF
paths: {
  state_dir = "$W/state";
  rules_dir = "$TOP_SRCDIR/rules";
};
gpg: {
  home = "$MGH";
};
milter: {
  socket = "inet:$milter_port@127.0.0.1";
  user = "nobody";
};
staff: {
  keys = ( { fingerprint = "$ALICE"; address = "alice@desk.example"; role = "lead"; } );
};
EOF
"$milter_bin" -f -c "$W/todoke.conf" >>"$W/milter.log" 2>&1 &
milter_pid=$!
postfix_wait_port "$milter_port" 30 || bail "todoke-milter does not listen"

postfix_setup || bail "postfix_setup"
postfix_sink_setup || bail "postfix_sink_setup"
postfix_milter "inet:127.0.0.1:$milter_port"
postfix_start || bail "postfix_start"

# ---------------------------------------------------------------- helpers
send() { # name from to file: sets reply
	swaks --server "127.0.0.1:$PF_PORT" --helo staff.example --from "$2" \
		--to "$3" --data "@$4" --timeout 60 >"$W/swaks.$1.out" 2>&1
	reply=$(awk '/^ -> \.$/ { if ((getline line) > 0) print line; exit }' "$W/swaks.$1.out" |
		sed 's/^<[-*~ ]*//')
}
# The processor and todokectl run as the milter's user, on its state.
process() {
	runuser -u nobody -- "$processor_bin" -c "$W/todoke.conf" -f --once \
		--now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$W/processor.log" 2>&1
}
ctl() { runuser -u nobody -- "$ctl_bin" -c "$W/todoke.conf" "$@"; }
state_of() { ctl case "$1" --json | jq -r .state_name; }
transcripts() {
	ctl outbox --json | jq '[.[] | select(.notice == "transcript" and .to == "alice@desk.example")] | length'
}

# ------------------------------------------------------------- a report
cat >"$W/report.eml" <<EOF
From: Taro <taro@discoverer.example>
To: vuln-info@localhost
Subject: Vulnerability report
Date: $(date -R)
Message-ID: <pfc-report.$$@discoverer.example>

XSS in https://www.example.co.jp/search?q=
EOF
send report taro@discoverer.example vuln-info@localhost "$W/report.eml"
tap_like "the report is accepted by Postfix" "$reply" '^250 '
process
tap_is "it opens case 1" "$(state_of 1)" received

# ------------------------------------------------------ a signed command
staff_clearsigned accept 'Alice <alice@desk.example>' alice@desk.example \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" 'commands' <<'EOF'
accept IPA#00000001 web
note IPA#00000001 "accepted by mail"
EOF
send accept alice@desk.example vuln-control@localhost "$tap_tmp/accept.eml"
tap_like "the signed command is accepted by Postfix" "$reply" '^250 '
entry=$(runuser -u nobody -- "$ctl_bin" -c "$W/todoke.conf" spool --json | jq -c '.[-1]')
tap_is "the milter spools it as a command" "$(printf '%s' "$entry" | jq -r .classification)" command
process
tap_is "the processor applies it: case 1 is accepted" "$(state_of 1)" accepted
tap_is "a transcript is queued to alice" "$(transcripts)" 1
tap_like "the event log names alice's key" "$(ctl timeline 1)" "staff:$ALICE	command-mail"
tap_is "the spool is empty" "$(ctl spool | grep -c .)" 0

# ------------------------------------------- the same mail, then unsigned
events=$(ctl timeline 1 | grep -c .)
send replay alice@desk.example vuln-control@localhost "$tap_tmp/accept.eml"
tap_like "the same mail again is accepted by Postfix" "$reply" '^250 '
process
tap_is "the replay changes nothing" "$(ctl timeline 1 | grep -c .)" "$events"
tap_is "alice is told of it" "$(transcripts)" 2
staff_plain forged 'Alice <alice@desk.example>' commands <<'EOF'
close IPA#00000001 fixed
EOF
send forged alice@desk.example vuln-control@localhost "$tap_tmp/forged.eml"
process
tap_is "an unsigned command with alice's From changes nothing" "$(state_of 1)" accepted
tap_is "and gets no transcript" "$(transcripts)" 2
tap_is "it is counted as dropped" "$(ctl commands --json | jq .dropped)" 1

postfix_wait_queue_empty 30
tap_unlike "no milter errors in Postfix's log" "$(postfix_maillog)" \
	'milter.*(timeout|unreachable|error|fatal)|warning: .*milter'
if [ "$tap_failures" -gt 0 ]; then
	sed 's/^/# milter: /' "$W/milter.log" | tail -20
	sed 's/^/# processor: /' "$W/processor.log" | tail -20
fi
tap_done
