#!/bin/bash
# postfix-command.t - staff commands by signed mail through a real Postfix
# on loopback: swaks sends each to the control address, todoke-milter (as
# nobody, in smtpd_milters) checks the signature and spools it, the
# processor (at fixed instants, --now) applies or refuses it and delivers
# the transcript through the instance's own sendmail(1) to a sink, where
# it is decrypted with alice's key and its desk signature checked.
# A signed command is applied with its transcript; an unsigned mail, a
# forged From with a non-staff key, a revoked key, a bad signature, the
# same mail again, the same signature under a new Message-ID, a fresh
# signature under a used Message-ID, a signature 4 days old and one bad
# command among good ones are each refused with the case and its timeline
# unchanged, with a transcript or in silence (counted).
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
BOB=42453D90E7541B863E94EC88D2416F570C99570C
OUTSIDER=B8227851D0ECE9D26122A705E27707614EFC0225
DESK=F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75
C1=IPA#00000001
W= milter_pid= MGH=

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -30
	[ -n "${PF_MAILLOG:-}" ] && [ -f "$PF_MAILLOG" ] && sed 's/^/# maillog: /' "$PF_MAILLOG" | tail -30
	exit 1
}

for tool in swaks smtp-sink postfix gpg jq runuser python3; do
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
# The milter's and processor's home: the desk's key and the staff's public
# keys; the signing home ($SIGN_HOME) holds alice's secret key, with
# which the transcripts are read.
gnupg_new_home desk-cv25519 || bail "gnupg home for the milter"
MGH=$GNUPGHOME
staffmail_setup "$MGH" >/dev/null 2>&1 || bail "signing home"
GNUPGHOME=$MGH gpgconf --kill gpg-agent
chown -R nobody:nogroup "$MGH"
mkdir -p "$W/state" && chown nobody:nogroup "$W/state" && chmod 750 "$W/state"

postfix_setup || bail "postfix_setup"
postfix_sink_setup || bail "postfix_sink_setup"
# Notices leave through this instance's sendmail(1).
printf '#!/bin/sh\nexec /usr/sbin/sendmail -C %s "$@"\n' "$PF_CONF" >"$W/sendmail"
chmod 755 "$W/sendmail"

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
outbound: {
  sendmail = "$W/sendmail";
};
staff: {
  keys = ( { fingerprint = "$ALICE"; address = "alice@desk.example"; role = "lead"; },
           { fingerprint = "$BOB"; address = "bob@desk.example"; } );
};
EOF
"$milter_bin" -f -c "$W/todoke.conf" >>"$W/milter.log" 2>&1 &
milter_pid=$!
postfix_wait_port "$milter_port" 30 || bail "todoke-milter does not listen"

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
process() { # instant
	runuser -u nobody -- "$processor_bin" -c "$W/todoke.conf" -f --once \
		--now "$1" >>"$W/processor.log" 2>&1
	postfix_wait_queue_empty 30 || echo "# the queue did not empty"
}
ctl() { runuser -u nobody -- "$ctl_bin" -c "$W/todoke.conf" "$@"; }
state_of() { ctl case "$1" --json | jq -r .state_name; }
# What a refusal must leave alone: the case's state and its whole timeline.
snapshot() { state_of $C1; ctl timeline $C1; }
outbox_count() { ctl outbox --json | jq length; }
counter() { ctl commands --json | jq -r ".$1"; }
# The sink's mails the desk sent (envelope sender vuln-bounce+TOKEN) to
# one recipient, oldest first.
desk_mails() { # recipient
	for f in $(postfix_sink_files); do
		grep -q '^X-Mail-Args: <vuln-bounce+' "$f" &&
			grep -qiF "X-Rcpt-Args: <$1>" "$f" && echo "$f"
	done
}
# Sends NAME.eml to the control address; processes it at INSTANT.
command_mail() { # name instant
	send "$1" alice@desk.example vuln-control@localhost "$tap_tmp/$1.eml"
	[ "${reply%% *}" = 250 ] || echo "# $1: Postfix answered: $reply"
	process "$2"
}
# The next transcript to alice in the sink, decrypted with her key:
# $W/t.eml as sent, $W/t.status gpg's status lines, $t the text.
n_alice=0
next_transcript() { # what
	n_alice=$((n_alice + 1))
	file=$(desk_mails alice@desk.example | sed -n "${n_alice}p")
	: >"$W/t.status"
	: >"$W/t.mime"
	if [ -z "$file" ]; then
		t="(no transcript mail for $1)"
		return
	fi
	cp "$file" "$W/t.eml"
	GNUPGHOME=$SIGN_HOME gpg --batch --status-fd 2 --decrypt "$W/t.eml" \
		>"$W/t.mime" 2>"$W/t.status"
	t=$(python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if not p.is_multipart():
        sys.stdout.write(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))' \
		"$W/t.mime")
}
flat() { printf '%s' "$1" | tr '\n' '~'; }

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
process 2027-03-01T10:00:00+09:00
tap_is "it opens case 1" "$(state_of $C1)" received

# --------------------------------- 1. a signed command, with its transcript
staff_clearsigned accept 'Somebody <somebody@elsewhere.example>' alice@desk.example \
	2027-03-01T10:58:00+09:00 'commands' <<EOF
accept $C1 web
note $C1 "accepted by mail"
set $C1 url https://www.example.co.jp/search
party $C1 operator info@example.co.jp
send $C1 stage1
EOF
# The reply goes to alice's configured address, never to From or Reply-To.
sed -i '1a Reply-To: <replies@elsewhere.example>' "$tap_tmp/accept.eml"
send accept alice@desk.example vuln-control@localhost "$tap_tmp/accept.eml"
tap_like "the signed command is accepted by Postfix" "$reply" '^250 '
entry=$(ctl spool --json | jq -c '.[-1]')
tap_is "the milter spools it as a command" "$(printf '%s' "$entry" | jq -r .classification)" command
process 2027-03-01T11:00:00+09:00
tap_is "the processor applies it: case 1 is contacting" "$(state_of $C1)" contacting
tap_is "the spool is empty" "$(ctl spool | grep -c .)" 0
tap_is "one transcript is sent, to alice's configured address" \
	"$(ctl outbox --json | jq -r '[.[] | select(.notice == "transcript")] | map(.to + " " + .state) | join(",")')" \
	"alice@desk.example sent"
tap_is "no mail to the From or Reply-To address" \
	"$(desk_mails somebody@elsewhere.example; desk_mails replies@elsewhere.example)" ""
next_transcript accept
tap_like "it is encrypted" "$(cat "$W/t.eml")" 'Content-Type: multipart/encrypted'
tap_is "its subject names no case" \
	"$(python3 "$TOP_SRCDIR/tests/lib/pgpmime.py" subject "$W/t.eml")" 'Results of your commands'
tap_like "it is addressed to alice" "$(cat "$W/t.eml")" 'To: alice@desk.example'
tap_unlike "no command text in transit" "$(cat "$W/t.eml")" 'accepted by mail|accept IPA'
tap_like "alice's key decrypts it" "$(cat "$W/t.status")" 'DECRYPTION_OKAY'
tap_like "signed by the desk key inside" "$(cat "$W/t.status")" "VALIDSIG [0-9A-F]+ .* $DESK"
tap_like "it says applied, 5 commands" "$t" 'Result: +applied, 5 commands'
tap_like "it lists each command with its result" "$(flat "$t")" \
	"> accept $C1 web~  applied~> note $C1 \"accepted by mail\"~  applied~.*> send $C1 stage1~  applied"
tap_like "and the case's new state and due date" "$t" \
	"$C1  contacting; contact due 2027-03-15T23:59:59\\+09:00"
tap_like "it names the signature" "$t" \
	"Signature: +key $ALICE, made 2027-03-01T10:58:00\\+09:00 \\(alice@desk.example, lead\\), clearsigned"
tap_is "the event log keeps the command mail with the signer's fingerprint" \
	"$(ctl timeline $C1 --json | jq -r '[.[] | select(.type == "command-mail")] | map(.actor + "|" + .text + "|" + .message_id) | join(",")')" \
	"staff:$ALICE|signed command mail of key $ALICE (alice@desk.example, lead), signature made 2027-03-01T10:58:00+09:00: 5 commands|accept.$$@staff.example"
tap_is "and each command with the signer as actor" \
	"$(ctl timeline $C1 --json | jq -r '[.[] | select(.type == "command") | .actor] | unique | join(",")')" \
	"staff:$ALICE"
before=$(snapshot)
outbox=$(outbox_count)

# ------------------------------------------------ 2. unsigned, From alice
staff_plain unsigned 'Alice <alice@desk.example>' commands <<EOF
close $C1 fixed
EOF
command_mail unsigned 2027-03-01T11:10:00+09:00
tap_is "an unsigned command with alice's From changes nothing" "$(snapshot)" "$before"
tap_is "no notice intent at all" "$(outbox_count)" "$outbox"
tap_is "no mail to alice" "$(desk_mails alice@desk.example | grep -c .)" 1
tap_is "it is counted as dropped" "$(counter dropped)" 1
tap_is "with the time and reason" "$(counter last_dropped)" \
	"2027-03-01T11:10:00+09:00 the mail is not signed"

# ------------------------------- 3. a forged From, signed by a non-staff key
staff_clearsigned forged 'Alice <alice@desk.example>' outsider@example.net \
	2027-03-01T11:18:00+09:00 commands <<EOF
close $C1 fixed
EOF
command_mail forged 2027-03-01T11:20:00+09:00
tap_is "a good signature by a key that is not staff changes nothing" "$(snapshot)" "$before"
tap_is "no notice intent" "$(outbox_count)" "$outbox"
tap_is "no mail to alice or the outsider" \
	"$(desk_mails alice@desk.example | grep -c .),$(desk_mails outsider@example.net | grep -c .)" 1,0
tap_is "counted as dropped" "$(counter dropped)" 2
tap_is "naming the key" "$(counter last_dropped)" \
	"2027-03-01T11:20:00+09:00 key $OUTSIDER is not a staff key"

# ----------------------------------------------------- 4. a revoked key
staff_clearsigned revoked 'Bob <bob@desk.example>' bob@desk.example \
	2027-03-01T11:28:00+09:00 commands <<EOF
close $C1 fixed
EOF
staff_before=$(desk_mails vuln-control@localhost | grep -c .)
command_mail revoked 2027-03-01T11:30:00+09:00
tap_is "a signature by a revoked staff key changes nothing" "$(snapshot)" "$before"
tap_is "no mail to bob (nothing can be encrypted to a revoked key)" \
	"$(desk_mails bob@desk.example | grep -c .)" 0
tap_is "staff are told instead" \
	"$(ctl attention --json | jq -r '[.[] | select(.kind == "command-mail-refused")] | map(.text) | join(",")')" \
	"command mail <revoked.$$@staff.example> signed by key $BOB (bob@desk.example) refused: signed with a revoked key (key $BOB); no transcript, the key cannot be encrypted to"
tap_is "by a staff notice to the control address" \
	"$(desk_mails vuln-control@localhost | grep -c .)" $((staff_before + 1))
before=$(snapshot)

# ----------------------------------------------------- 5. a bad signature
staff_clearsigned tampered 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-01T11:38:00+09:00 commands <<EOF
note $C1 harmless
EOF
sed -i "s/^note $C1 harmless/close $C1 fixed/" "$tap_tmp/tampered.eml"
command_mail tampered 2027-03-01T11:40:00+09:00
tap_is "a tampered text changes nothing" "$(snapshot)" "$before"
next_transcript tampered
tap_like "alice's transcript says the signature is bad" "$t" \
	"Result: +refused, nothing was changed: bad signature: the signed text was changed after signing \\(key $ALICE\\)"
tap_unlike "and does not repeat the tampered text" "$t" 'close'

# ------------------------------------------- 6. the same mail a second time
command_mail accept 2027-03-01T11:50:00+09:00
tap_is "the same mail again changes nothing" "$(snapshot)" "$before"
next_transcript replay
tap_like "alice is told it is a replay of the signature" "$t" \
	"Result: +refused, nothing was changed: replay: this signature was already used by the command mail read at 2027-03-01T11:00:00\\+09:00"

sed "s/^Message-ID: .*/Message-ID: <other.$$@staff.example>/" "$tap_tmp/accept.eml" >"$tap_tmp/newid.eml"
command_mail newid 2027-03-01T12:00:00+09:00
tap_is "the same signature under a new Message-ID changes nothing" "$(snapshot)" "$before"
next_transcript newid
tap_like "refused as a replay of the signature" "$t" \
	'refused, nothing was changed: replay: this signature was already used'

staff_clearsigned fresh 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-01T12:08:00+09:00 commands <<EOF
note $C1 "a fresh signature"
EOF
sed -i "s/^Message-ID: .*/Message-ID: <accept.$$@staff.example>/" "$tap_tmp/fresh.eml"
command_mail fresh 2027-03-01T12:10:00+09:00
tap_is "a fresh signature under a used Message-ID changes nothing" "$(snapshot)" "$before"
next_transcript fresh
tap_like "refused as a replay of the Message-ID" "$t" \
	'refused, nothing was changed: replay: this Message-ID was already used by the command mail read at 2027-03-01T11:00:00\+09:00'

# ----------------------------------------- 7. a signature 4 days old
staff_clearsigned old 'Alice <alice@desk.example>' alice@desk.example \
	2027-02-25T12:20:00+09:00 commands <<EOF
note $C1 "four days old"
EOF
command_mail old 2027-03-01T12:20:00+09:00
tap_is "a signature made 4 days before changes nothing" "$(snapshot)" "$before"
next_transcript old
tap_like "the transcript gives the window" "$t" \
	'the signature was made 345600 seconds before the desk read the mail; at most 259200 are accepted \(staff.signature_window_past\)'

# ------------------------------------- 8. one bad command among good ones
staff_pgpmime onebad 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-01T12:28:00+09:00 commands <<EOF
note $C1 first
reject $C1 no-such-code
note $C1 third
EOF
command_mail onebad 2027-03-01T12:30:00+09:00
tap_is "nothing of a mail with one bad line is applied" "$(snapshot)" "$before"
next_transcript onebad
tap_like "the transcript names the bad line" "$(flat "$t")" \
	"Result: +refused, nothing was changed: line 2 cannot be applied~.*> reject $C1 no-such-code~  line 2: refused: reject: unknown reason code 'no-such-code'"
tap_like "and says the good lines were not applied" "$(flat "$t")" \
	"> note $C1 first~  not applied.*> note $C1 third~  not applied"

# ----------------------------------------------------------- the count
tap_is "todokectl commands: 1 accepted, 7 refused, 2 dropped" \
	"$(ctl commands --json | jq -r '[.accepted, .refused, .dropped] | join(" ")')" "1 7 2"
tap_is "every transcript was signed, encrypted and sent" \
	"$(ctl outbox --json | jq -r '[.[] | select(.notice == "transcript") | .state] | group_by(.) | map("\(.[0]) \(length)") | join(",")')" \
	"sent 7"
tap_is "and reached the sink, to alice only" \
	"$(desk_mails alice@desk.example | grep -c .)" 7

tap_unlike "no milter errors in Postfix's log" "$(postfix_maillog)" \
	'milter.*(timeout|unreachable|error|fatal)|warning: .*milter'
if [ "$tap_failures" -gt 0 ]; then
	sed 's/^/# milter: /' "$W/milter.log" | tail -20
	sed 's/^/# processor: /' "$W/processor.log" | tail -20
fi
tap_done
