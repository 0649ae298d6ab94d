#!/bin/bash
# postfix.t - todoke-milter in a real Postfix on loopback.
#
# A private Postfix (tests/lib/postfix.sh) with todoke-milter in
# smtpd_milters relays everything to an smtp-sink; swaks sends the mail.
# The milter runs as nobody with its own GnuPG home (desk key, discoverer's
# public key); the mail is made with a second home (discoverer's key, the
# desk's public key). Checks: decryption and signature, case numbers in
# MIME-encoded subjects, the labels on delivered desk mail, removal of
# forged X-Todoke-* headers, foreign mail handed back untouched, the size cap
# (552 5.3.4), a full spool (451 4.3.0, nothing kept, nothing relayed), and
# that every desk mail Postfix accepted is in the spool exactly once; also
# several mails over one SMTP session and milter.after_capture = discard
# (a desk + foreign mail: only the desk recipients are dropped).
# Needs root (Postfix's master); skipped otherwise.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to run a private Postfix"
	exit 0
fi

. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"
. "$TOP_SRCDIR/tests/lib/postfix.sh"

milter_bin=$TOP_BUILDDIR/milter/todoke-milter
ctl_bin=$TOP_BUILDDIR/processor/todokectl
W= milter_pid= MGH= SGH=

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -30
	[ -n "${PF_MAILLOG:-}" ] && [ -f "$PF_MAILLOG" ] && sed 's/^/# maillog: /' "$PF_MAILLOG" | tail -30
	exit 1
}

for tool in swaks smtp-sink postfix gpg jq iconv base64 runuser; do
	command -v "$tool" >/dev/null || bail "$tool is not installed"
done
[ -x "$milter_bin" ] || bail "$milter_bin is not built"
[ -x "$ctl_bin" ] || bail "$ctl_bin is not built"

milter_stop() {
	[ -n "$milter_pid" ] || return 0
	kill -TERM "$milter_pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$milter_pid" 2>/dev/null; then
		echo "# todoke-milter $milter_pid ignored SIGTERM for 10 s; killing it"
		kill -KILL "$milter_pid" 2>/dev/null
	fi
	wait "$milter_pid" 2>/dev/null
	milter_pid=
}

cleanup() {
	milter_stop
	# The milter's gpg-agent runs as nobody; root's gpgconf may look for
	# its socket elsewhere, so ask as nobody.
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
W=$(mktemp -d /tmp/tdk-pft.XXXXXX) || bail "mktemp"
chmod 755 "$W"

# The milter's GnuPG home: the desk's secret key, the discoverer's public key.
gnupg_new_home desk-cv25519 discoverer.pub || bail "gnupg home for the milter"
MGH=$GNUPGHOME
gpgconf --kill gpg-agent # root's agent from the import; nobody starts its own
chown -R nobody:nogroup "$MGH"
# The sender's home: the discoverer's secret key, the desk's public key.
gnupg_new_home discoverer desk-cv25519.pub || bail "gnupg home for the sender"
SGH=$GNUPGHOME

for d in state full; do
	mkdir -p "$W/$d" && chown nobody:nogroup "$W/$d" && chmod 750 "$W/$d"
done
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
  after_capture = "deliver";
};
EOF

# milter_start [-o NAME=VALUE]...: start (as root; it drops to nobody).
milter_start() {
	echo "--- start $*" >>"$W/milter.log"
	"$milter_bin" -f -c "$W/todoke.conf" "$@" >>"$W/milter.log" 2>&1 &
	milter_pid=$!
	local st
	for _ in $(seq 300); do
		[ -n "$(ss -Hltn "sport = :$milter_port")" ] && return 0
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$milter_pid" 2>/dev/null; then
		st="still running after 30 s"
	else
		wait "$milter_pid"
		st="exited with status $?"
	fi
	milter_pid=
	bail "todoke-milter did not start listening on 127.0.0.1:$milter_port ($st)"
}

milter_start

postfix_setup || bail "postfix_setup"
postfix_sink_setup || bail "postfix_sink_setup"
postfix_milter "inet:127.0.0.1:$milter_port"
postfix_start || bail "postfix_start"

# ------------------------------------------------------------- helpers
spool_of() { # STATE_DIR [args...]: todokectl spool, as the milter's user
	local dir=$1
	shift
	runuser -u nobody -- "$ctl_bin" -c "$W/todoke.conf" -o "paths.state_dir=$dir" spool "$@"
}
spool_count() { spool_of "${1:-$W/state}" | grep -c .; }

# send NAME FROM TO FILE: sends FILE with swaks. Sets reply (the answer to
# the end of data, e.g. "250 2.0.0 Ok: queued as 3F1A2B"), qid (the Postfix
# queue id when accepted, else empty). Counts desk mail Postfix accepted.
desk_accepted=0
all_accepted=0
desk_qids=
send() {
	local name=$1 from=$2 to=$3 file=$4
	swaks --server "127.0.0.1:$PF_PORT" --helo client.example.org \
		--from "$from" --to "$to" --data "@$file" --timeout 60 \
		>"$W/swaks.$name.out" 2>&1
	reply=$(awk '/^ -> \.$/ { if ((getline line) > 0) print line; exit }' "$W/swaks.$name.out" |
		sed 's/^<[-*~ ]*//')
	qid=$(printf '%s\n' "$reply" | sed -n 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p')
	if [ -n "$qid" ]; then
		all_accepted=$((all_accepted + 1))
		case $to in
		*[Vv][Uu][Ll][Nn]-*@[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]*)
			desk_accepted=$((desk_accepted + 1))
			desk_qids="$desk_qids $qid"
			;;
		esac
	fi
}

# sink_copy QID: the file the sink wrote for the mail Postfix queued as QID.
sink_copy() {
	postfix_wait_queue_empty 30 || echo "# queue not empty after 30 s" >&2
	grep -lE "with ESMTP id $1(;|\$)" "$PF_SINK_DIR"/* 2>/dev/null | head -1
}

# header NAME FILE: the values of header NAME in the mail part of FILE
# (after the sink's own lines), one per line.
header() {
	awk -v h="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
		/^$/ { exit }
		{ split($0, a, ":"); if (tolower(a[1]) == h) { sub(/^[^:]*:[ \t]*/, ""); print } }' "$2"
}

mail_date=$(date -R)
msgid() { echo "<postfix-t.$$.$(date +%s%N)@example.org>"; }

# ------------------------------------- 1. encrypted, signed PGP/MIME report
cat >"$W/report.inner" <<'EOF'
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Reflected XSS in https://www.example.com/search?q= (parameter q).
Found 2026-11-20. Steps to reproduce attached below.
EOF
GNUPGHOME=$SGH gpg --batch --quiet --armor --sign --encrypt \
	-u discoverer@example.org -r vuln-info@desk.example \
	--output "$W/report.asc" "$W/report.inner" || bail "gpg --encrypt"
{
	cat <<EOF
From: Discoverer <discoverer@example.org>
To: vuln-info@localhost
Subject: Vulnerability report
Date: $mail_date
Message-ID: $(msgid)
MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";
 boundary="=-=enc=-="

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--=-=enc=-=
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--=-=enc=-=
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

EOF
	cat "$W/report.asc"
	printf '\n--=-=enc=-=--\n'
} >"$W/report.eml"

before=$(spool_count)
send report discoverer@example.org vuln-info@localhost "$W/report.eml"
tap_like "encrypted report: Postfix accepts it" "$reply" '^250 '
tap_is "encrypted report: one spool entry" "$(spool_count)" $((before + 1))
entry=$(spool_of "$W/state" --json | jq -c --arg q "$qid" '.[] | select(.queue_id == $q)')
id=$(printf '%s' "$entry" | jq -r '.id // empty')
tap_is "encrypted report: class report" "$(printf '%s' "$entry" | jq -r .classification)" report
tap_is "encrypted report: crypto decrypted" "$(printf '%s' "$entry" | jq -r .crypto)" decrypted
if [ -n "$id" ]; then
	show=$(spool_of "$W/state" show "$id")
else
	show='{}'
fi
tap_is "encrypted report: one good signature" \
	"$(printf '%s' "$show" | jq -r '[.signatures[]?.state] | join(",")')" good
tap_is "encrypted report: recipients as sent, without the brackets" \
	"$(printf '%s' "$show" | jq -r '.recipients | join(",")')" "vuln-info@localhost"
copy=$(sink_copy "$qid")
tap_ok "encrypted report: relayed to the sink" test -n "$copy"
tap_is "encrypted report: sink copy has X-Todoke-Class: report" \
	"$(header X-Todoke-Class "${copy:-/dev/null}")" report
tap_is "encrypted report: sink copy has no X-Todoke-Case" \
	"$(header X-Todoke-Case "${copy:-/dev/null}")" ""
tap_ok "encrypted report: sink copy still encrypted (no plaintext leaks)" \
	sh -c '! grep -q "Reflected XSS" "$1" && grep -q "BEGIN PGP MESSAGE" "$1"' - "${copy:-/dev/null}"

# ------------------------- 2. a reply with an ISO-2022-JP subject and a case
subject_utf8='Re: 脆弱性のご連絡 [IPA#00000123]'
subject_enc="=?ISO-2022-JP?B?$(printf '%s' "$subject_utf8" | iconv -f UTF-8 -t ISO-2022-JP | base64 -w0)?="
{
	cat <<EOF
From: Web Operator <security@operator.example>
To: vuln-contact@localhost
Subject: $subject_enc
Date: $mail_date
Message-ID: $(msgid)
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit

EOF
	printf 'ご連絡ありがとうございます。修正を進めております。\n' | iconv -f UTF-8 -t ISO-2022-JP
} >"$W/reply.eml"
before=$(spool_count)
send reply security@operator.example vuln-contact@localhost "$W/reply.eml"
tap_like "ISO-2022-JP reply: Postfix accepts it" "$reply" '^250 '
tap_is "ISO-2022-JP reply: one spool entry" "$(spool_count)" $((before + 1))
entry=$(spool_of "$W/state" --json | jq -c --arg q "$qid" '.[] | select(.queue_id == $q)')
tap_is "ISO-2022-JP reply: class reply" "$(printf '%s' "$entry" | jq -r .classification)" reply
tap_is "ISO-2022-JP reply: case IPA#00000123 from the subject" \
	"$(printf '%s' "$entry" | jq -r .case_subject)" "IPA#00000123"
tap_is "ISO-2022-JP reply: subject decoded" "$(printf '%s' "$entry" | jq -r .subject)" "$subject_utf8"
tap_is "ISO-2022-JP reply: crypto plain" "$(printf '%s' "$entry" | jq -r .crypto)" plain
copy=$(sink_copy "$qid")
tap_is "ISO-2022-JP reply: sink copy has X-Todoke-Case: IPA#00000123" \
	"$(header X-Todoke-Case "${copy:-/dev/null}")" "IPA#00000123"
tap_is "ISO-2022-JP reply: sink copy has X-Todoke-Class: reply" \
	"$(header X-Todoke-Class "${copy:-/dev/null}")" reply

# ------------------------------------------- 3. forged X-Todoke-* headers
cat >"$W/forged.eml" <<EOF
From: Someone <someone@example.org>
To: vuln-info@localhost
Subject: Please look at this
X-Todoke-Case: IPA#99999999
X-Todoke-Class: command
x-todoke-case: IPA#99999998
Date: $mail_date
Message-ID: $(msgid)

A report without a case number, dressed up as a staff command.
EOF
before=$(spool_count)
send forged someone@example.org vuln-info@localhost "$W/forged.eml"
tap_like "forged headers: Postfix accepts it" "$reply" '^250 '
tap_is "forged headers: one spool entry" "$(spool_count)" $((before + 1))
entry=$(spool_of "$W/state" --json | jq -c --arg q "$qid" '.[] | select(.queue_id == $q)')
tap_is "forged headers: classified report, not command" \
	"$(printf '%s' "$entry" | jq -r .classification)" report
tap_is "forged headers: no case number taken from them" \
	"$(printf '%s' "$entry" | jq -r '.case_subject // .case_body // "-"')" "-"
copy=$(sink_copy "$qid")
tap_ok "forged headers: relayed to the sink" test -n "$copy"
tap_unlike "forged headers: the forged case numbers are gone from the sink copy" \
	"$(sed '/^$/q' "${copy:-/dev/null}")" 'IPA#9999999[89]'
tap_is "forged headers: the sink copy has exactly one X-Todoke-Class, the milter's" \
	"$(header X-Todoke-Class "${copy:-/dev/null}")" report
tap_is "forged headers: and no X-Todoke-Case" "$(header X-Todoke-Case "${copy:-/dev/null}")" ""

# ------------------------------------------------ 4. mail not for the desk
cat >"$W/foreign.eml" <<EOF
From: Someone <someone@example.org>
To: someone@example.net
Subject: Lunch?
Date: $mail_date
Message-ID: $(msgid)

Not for the desk.
EOF
before=$(spool_count)
send foreign someone@example.org someone@example.net "$W/foreign.eml"
tap_like "foreign mail: Postfix accepts it" "$reply" '^250 '
tap_is "foreign mail: no spool entry" "$(spool_count)" "$before"
copy=$(sink_copy "$qid")
tap_ok "foreign mail: relayed to the sink" test -n "$copy"
tap_is "foreign mail: no X-Todoke header in the sink copy" \
	"$(sed '/^$/q' "${copy:-/dev/null}" | grep -ci '^X-Todoke-')" 0

# --------------------- 5. desk and foreign recipient in one mail: spooled once
cat >"$W/mixed.eml" <<EOF
From: Discoverer <discoverer@example.org>
To: vuln-info@localhost, someone@example.net
Subject: Second report, copy to a friend
Date: $mail_date
Message-ID: $(msgid)

Stored XSS in the guest book of www.example.com.
EOF
before=$(spool_count)
send mixed discoverer@example.org vuln-info@localhost,someone@example.net "$W/mixed.eml"
tap_like "desk + foreign recipient: Postfix accepts it" "$reply" '^250 '
tap_is "desk + foreign recipient: exactly one spool entry" "$(spool_count)" $((before + 1))
copy=$(sink_copy "$qid")
tap_is "desk + foreign recipient: one sink copy, labelled" \
	"$(header X-Todoke-Class "${copy:-/dev/null}")" report

# ------------------- 5b. desk and foreign mail in turn over one SMTP session
# (the per-message state must be reset between transactions)
sink_before=$(postfix_sink_count)
before=$(spool_count)
session_out=$(perl -MNet::SMTP -e '
	my ($port, @rcpts) = @ARGV;
	my $s = Net::SMTP->new("127.0.0.1", Port => $port, Hello => "client.example.org",
		Timeout => 60) or die "connect: $@\n";
	my $i = 0;
	for my $to (@rcpts) {
		$i++;
		$s->mail("discoverer\@example.org") && $s->to($to) && $s->data or die "$to: " . $s->message;
		$s->datasend("From: discoverer\@example.org\nTo: $to\nSubject: session mail $i\n" .
			"X-Todoke-Case: IPA#99999997\nMessage-ID: <session.$$.$i\@example.org>\n\nmail $i\n");
		$s->dataend;
		my $msg = $s->message;
		$msg =~ s/\s+$//;
		print $s->code, " $to ", ($msg =~ /queued as (\w+)/)[0] // "-", "\n";
	}
	$s->quit;
' "$PF_PORT" vuln-info@localhost someone@example.net vuln-contact@localhost \
	someone@example.net someone@example.net vuln-info@localhost 2>&1)
tap_is "one session, 6 mails: all accepted" "$(printf '%s\n' "$session_out" | grep -c '^250 ')" 6
while read -r code to q; do
	[ "$code" = 250 ] || continue
	all_accepted=$((all_accepted + 1))
	case $to in vuln-*) desk_accepted=$((desk_accepted + 1)) desk_qids="$desk_qids $q" ;; esac
done <<<"$session_out"
tap_is "one session: the 3 desk mails spooled, the 3 others not" "$(spool_count)" $((before + 3))
postfix_wait_queue_empty 30
tap_is "one session: all 6 relayed" "$(postfix_sink_count)" $((sink_before + 6))
labels=
while read -r code to q; do
	copy=$(sink_copy "$q")
	labels="$labels $to=$(header X-Todoke-Class "${copy:-/dev/null}" | tr '\n' ,)$(header X-Todoke-Case "${copy:-/dev/null}" | tr '\n' ,)"
done <<<"$session_out"
tap_is "one session: desk mail labelled and cleaned, foreign mail untouched" "$labels" \
	" vuln-info@localhost=report, someone@example.net=IPA#99999997, vuln-contact@localhost=reply, someone@example.net=IPA#99999997, someone@example.net=IPA#99999997, vuln-info@localhost=report,"

# ------------------------------------------------------ 6. over the size cap
milter_stop
milter_start -o limits.message_size=8192
{
	cat <<EOF
From: Discoverer <discoverer@example.org>
To: vuln-info@localhost
Subject: A large report
Date: $mail_date
Message-ID: $(msgid)

EOF
	for i in $(seq 300); do echo "line $i of a long report, 64 bytes each ..........................."; done
} >"$W/big.eml"
sink_before=$(postfix_sink_count)
before=$(spool_count)
send big discoverer@example.org vuln-info@localhost "$W/big.eml"
tap_like "over limits.message_size: 552 5.3.4" "$reply" '^552 5\.3\.4 '
tap_is "over limits.message_size: no spool entry" "$(spool_count)" "$before"
sed 's/^To: .*/To: someone@example.net/' "$W/big.eml" >"$W/bigforeign.eml"
send bigforeign discoverer@example.org someone@example.net "$W/bigforeign.eml"
tap_like "the same size, not for the desk: accepted (the cap is for desk mail)" "$reply" '^250 '
postfix_wait_queue_empty 30
tap_is "over limits.message_size: nothing relayed but the foreign mail" \
	"$(postfix_sink_count)" $((sink_before + 1))

# ----------------------------------------------------------- 7. spool full
# A second spool of the smallest map size (1 MiB) and a 1.5 MB desk mail:
# the commit fails with MDB_MAP_FULL; the milter must answer 451 4.3.0.
milter_stop
milter_start -o "paths.state_dir=$W/full" -o spool.map_size=1048576
{
	cat <<EOF
From: Discoverer <discoverer@example.org>
To: vuln-info@localhost
Subject: A report with a large log
Date: $mail_date
Message-ID: $(msgid)

EOF
	for i in $(seq 24000); do echo "log line $i: GET /search?q=<script> HTTP/1.1 200 ........"; done
} >"$W/huge.eml"
sink_before=$(postfix_sink_count)
send full discoverer@example.org vuln-info@localhost "$W/huge.eml"
tap_like "spool full: 451 4.3.0 (try again later)" "$reply" '^451 4\.3\.0 '
tap_is "spool full: nothing in that spool" "$(spool_count "$W/full")" 0
postfix_wait_queue_empty 30
tap_is "spool full: nothing relayed" "$(postfix_sink_count)" "$sink_before"
tap_is "spool full: nothing left in Postfix's queue (the client keeps the mail)" \
	"$(postfix_queue_count)" 0
tap_like "spool full: the milter logged why" "$(cat "$W/milter.log")" 'spool full|MAP_FULL|map size'

# ------------------------------------------ 8. milter.after_capture discard
milter_stop
milter_start -o milter.after_capture=discard
cat >"$W/discard.eml" <<EOF
From: Discoverer <discoverer@example.org>
To: VULN-INFO+web@LocalHost
Subject: A third report
Date: $mail_date
Message-ID: $(msgid)

Open redirect at https://www.example.com/go?u=
EOF
sink_before=$(postfix_sink_count)
before=$(spool_count)
send discard discoverer@example.org VULN-INFO+web@LocalHost "$W/discard.eml"
tap_like "discard mode: desk mail (upper case, +extension) accepted" "$reply" '^250 '
tap_is "discard mode: spooled" "$(spool_count)" $((before + 1))
postfix_wait_queue_empty 30
tap_is "discard mode: not delivered on" "$(postfix_sink_count)" "$sink_before"
all_accepted=$((all_accepted - 1)) # (so that the sink count below adds up)

sed 's/^To: .*/To: VULN-INFO+web@LocalHost, someone@example.net/' "$W/discard.eml" >"$W/discard-mixed.eml"
before=$(spool_count)
send discard-mixed discoverer@example.org VULN-INFO+web@LocalHost,someone@example.net "$W/discard-mixed.eml"
tap_like "discard mode: desk + foreign recipient accepted" "$reply" '^250 '
tap_is "discard mode: desk + foreign recipient spooled once" "$(spool_count)" $((before + 1))
copy=$(sink_copy "$qid")
tap_is "discard mode: the foreign recipient still gets the mail, and only it" \
	"$(sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "${copy:-/dev/null}" | tr '\n' ' ')" "someone@example.net "
[ -n "$copy" ] || all_accepted=$((all_accepted - 1)) # (counted above already)

# ------------------------------------------- 9. back to normal, then count
milter_stop
milter_start
cat >"$W/after.eml" <<EOF
From: Discoverer <discoverer@example.org>
To: vuln-info@localhost
Subject: Re: [IPA#00000124] more details
Date: $mail_date
Message-ID: $(msgid)

Here are the details you asked for.
EOF
send after discoverer@example.org vuln-info@localhost "$W/after.eml"
tap_like "after a restart: desk mail accepted again" "$reply" '^250 '

postfix_wait_queue_empty 30
tap_is "Postfix's queue is empty at the end" "$(postfix_queue_count)" 0
tap_is "every desk mail Postfix accepted is in the spool" "$(spool_count)" "$desk_accepted"
tap_is "each exactly once, under its queue id" \
	"$(spool_of "$W/state" --json | jq -r '.[].queue_id' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' $desk_qids | sort | tr '\n' ' ')"
tap_is "every accepted mail reached the sink, once" "$(postfix_sink_count)" "$all_accepted"
tap_unlike "no milter errors in Postfix's log" "$(postfix_maillog)" \
	'milter.*(timeout|unreachable|error|fatal)|warning: .*milter'

if [ "$tap_failures" -gt 0 ]; then
	sed 's/^/# milter: /' "$W/milter.log" | tail -40
fi
tap_done
