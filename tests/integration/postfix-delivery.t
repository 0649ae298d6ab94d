#!/bin/bash
# postfix-delivery.t - notices leave through a real Postfix on loopback and
# arrive in a Maildir, from cases made by real mail and staff commands.
#
# A private Postfix (tests/lib/postfix.sh) delivers discoverer.example,
# example.co.jp and the desk's localhost into one Maildir and bounces
# everything for gone.example (a transport error: 5.1.1 user unknown).
# todoke-milter (as nobody) is in smtpd_milters and non_smtpd_milters and
# sees Postfix's own bounces (internal_mail_filter_classes = bounce), but
# hands the desk's own notices back untouched, staff notices to the control
# address included. The processor runs as nobody with outbound.sendmail =
# "/usr/sbin/sendmail -C <the instance>", on a simulated clock. Checked in
# the delivered mail:
#   - the acknowledgement is signed by the desk key, not encrypted; stage 1
#     and stage 2 to the operator with a key are encrypted to that key
#     alone, signed inside, and decrypt to the text todokectl render shows;
#   - the rules say ISO-2022-JP for operators: subject, text and the
#     attachment are ISO-2022-JP and decode to the same Japanese text;
#   - no subject names the site, the vulnerability type, the product or
#     the discoverer, and every one carries [IPA#nnnnnnnn];
#   - nothing to the operator, raw or decrypted, names 山田太郎 or his
#     address;
#   - the daily cap (3 here) holds: a 4th notice to the discoverer is held;
#   - stage 1 to gone.example bounces; the bounce comes back through the
#     milter, marks the notice bounced and counts as a failed contact
#     attempt, until the third makes the operator unreachable.
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
processor_bin=$TOP_BUILDDIR/processor/todoke-processor
ctl_bin=$TOP_BUILDDIR/processor/todokectl
pgpmime=$TOP_SRCDIR/tests/lib/pgpmime.py
DESK=F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75
OPERATOR=18FE12D12DA237954DB2293C8DDF059BAEF472E6
C1=IPA#00000001 C2=IPA#00000002
W= milter_pid= MGH= OGH=

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -20
	[ -n "$W" ] && [ -f "$W/processor.log" ] && sed 's/^/# processor: /' "$W/processor.log" | tail -20
	[ -n "${PF_MAILLOG:-}" ] && [ -f "$PF_MAILLOG" ] && sed 's/^/# maillog: /' "$PF_MAILLOG" | tail -20
	exit 1
}

for tool in swaks postfix gpg jq python3 runuser; do
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
W=$(mktemp -d /tmp/tdk-pfd.XXXXXX) || bail "mktemp"
chmod 755 "$W"
# The desk's home (milter and processor): the desk key, the operator's
# public key. The operator reads mail with a home of their own.
gnupg_new_home desk-cv25519 operator.pub >/dev/null 2>&1 || bail "gnupg home for the desk"
MGH=$GNUPGHOME
gpgconf --kill gpg-agent
chown -R nobody:nogroup "$MGH"
gnupg_new_home operator desk-cv25519.pub >/dev/null 2>&1 || bail "gnupg home for the operator"
OGH=$GNUPGHOME
mkdir -p "$W/state" && chown nobody:nogroup "$W/state" && chmod 750 "$W/state"
# The rules: at most 3 notices a day to one address; operators read
# ISO-2022-JP.
cp -r "$TOP_SRCDIR/rules" "$W/rules"
sed -i -e 's/recipient_daily_cap = [0-9]*;/recipient_daily_cap = 3;/' \
	-e 's/^  iso_2022_jp = \[ \];/  iso_2022_jp = [ "operator" ];/' "$W/rules/partnership.conf"
grep -q 'iso_2022_jp = \[ "operator" \];' "$W/rules/partnership.conf" || bail "cannot edit the rules"

postfix_setup || bail "postfix_setup"
postfix_maildir_setup discoverer.example example.co.jp || bail "postfix_maildir_setup"
printf 'gone.example error:5.1.1 user unknown\n' >"$PF_CONF/transport"
milter_port=$(postfix_free_port) || bail "no free port"
postfix_milter "inet:127.0.0.1:$milter_port"
postfix_conf "transport_maps = texthash:$PF_CONF/transport" \
	"non_smtpd_milters = inet:127.0.0.1:$milter_port" \
	"internal_mail_filter_classes = bounce" \
	"virtual_mailbox_domains = localhost desk.example discoverer.example example.co.jp" ||
	bail "postfix_conf"

cat >"$W/todoke.conf" <<EOF
paths: {
  state_dir = "$W/state";
  rules_dir = "$W/rules";
};
gpg: {
  home = "$MGH";
  time_budget_ms = 60000;
};
milter: {
  socket = "inet:$milter_port@127.0.0.1";
  user = "nobody";
};
outbound: {
  sendmail = "/usr/sbin/sendmail -C '$PF_CONF'";
};
EOF
"$milter_bin" -f -c "$W/todoke.conf" >>"$W/milter.log" 2>&1 &
milter_pid=$!
postfix_wait_port "$milter_port" 30 || bail "todoke-milter does not listen"
postfix_start || bail "postfix_start"

# ---------------------------------------------------------------- helpers
clock=0
# The processor, as nobody, at 2027-03-01 08:00 JST plus one minute a run
# (before the staff digest at 09:00). Postfix's queue is empty after it.
process() {
	clock=$((clock + 1))
	now=$(printf '2027-03-01T08:%02d:00+09:00' "$clock")
	runuser -u nobody -- "$processor_bin" -c "$W/todoke.conf" -f --once --now "$now" \
		>>"$W/processor.log" 2>&1 || bail "the processor failed at $now"
	postfix_wait_queue_empty 30 || bail "Postfix's queue does not drain"
}
ctl() { runuser -u nobody -- "$ctl_bin" -c "$W/todoke.conf" "$@"; }
staff() { # command...: todokectl do at the clock
	printf '%s\n' "$@" | ctl do --now "$now" - >"$W/do.out" 2>&1 ||
		{ sed 's/^/# /' "$W/do.out"; return 1; }
}
send() { # from to file
	swaks --server "127.0.0.1:$PF_PORT" --helo mua.example --from "$1" --to "$2" \
		--data "@$3" --timeout 60 >"$W/swaks.out" 2>&1 || bail "swaks: $(tail -3 "$W/swaks.out")"
}
outbox() { ctl outbox --json; }
state_of() { # case notice [attempt]
	outbox | jq -r --arg c "$1" --arg n "$2" --argjson a "${3:-0}" \
		'[.[] | select(.case == $c and .notice == $n and ($a == 0 or .attempt == $a))] | last | .state'
}
# The delivered mails, one path a line: to an address, or all the desk's.
delivered_to() {
	grep -l -i -x "Delivered-To: $1" "$PF_MAILDIR"/new/* 2>/dev/null
}
notices_delivered() { # the loop header in the header section
	local f
	for f in "$PF_MAILDIR"/new/*; do
		awk 'NF == 0 { exit 1 } tolower($0) ~ /^x-loop: vuln-contact@localhost/ { exit 0 }' \
			"$f" && echo "$f"
	done
}
# The n-th mail (oldest first) to an address whose decoded subject matches.
mail_to() { # address subject-regex
	local f
	for f in $(ls -tr $(delivered_to "$1")); do
		python3 "$pgpmime" subject "$f" | grep -Eq -- "$2" && { echo "$f"; return 0; }
	done
	return 1
}

# ------------------------------------------------------------- two reports
cat >"$W/report1.eml" <<'EOF'
From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@discoverer.example>
To: vuln-info@localhost
Subject: =?UTF-8?B?6ISG5byx5oCn44Gu5bGK5Ye6?=
Message-ID: <pfd-report-1@discoverer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

ウェブサイト https://www.example.co.jp/search の検索欄に
クロスサイト・スクリプティングの脆弱性があります。
EOF
sed -e 's/pfd-report-1/pfd-report-2/' \
	-e 's|https://www.example.co.jp/search|https://shop.gone.example/cart|' \
	"$W/report1.eml" >"$W/report2.eml"
send taro@discoverer.example vuln-info@localhost "$W/report1.eml"
process
send taro@discoverer.example vuln-info@localhost "$W/report2.eml"
process
tap_is "two reports through the milter open two cases" \
	"$(ctl case "$C1" --json | jq -r .state_name)/$(ctl case "$C2" --json | jq -r .state_name)" \
	received/received
tap_is "both acknowledgements are sent" \
	"$(state_of "$C1" acknowledgement)/$(state_of "$C2" acknowledgement)" sent/sent
tap_is "Postfix delivered both to the discoverer" "$(delivered_to taro@discoverer.example | wc -l)" 2

ack=$(mail_to taro@discoverer.example "^\\[$C1\\]") || bail "no acknowledgement of $C1 in the Maildir"
tap_like "the acknowledgement is multipart/signed" "$(cat "$ack")" 'Content-Type: multipart/signed'
tap_like "its envelope sender is the notice's VERP address" \
	"$(grep -i -m 1 '^Return-Path:' "$ack")" \
	"<vuln-bounce\\+n$(outbox | jq -r --arg c "$C1" '.[] | select(.case == $c and .notice == "acknowledgement") | .id')@localhost>"
python3 "$pgpmime" signed "$ack" "$W/ack.data" "$W/ack.sig" || bail "cannot take the acknowledgement apart"
GNUPGHOME=$OGH gpg --batch --status-fd 1 --verify "$W/ack.sig" "$W/ack.data" >"$W/ack.status" 2>/dev/null
tap_like "its signature is good, by the desk key" "$(cat "$W/ack.status")" "VALIDSIG [0-9A-F]+ .* $DESK"

# --------------------------------------------- staff accept both, stage 1
staff "accept $C1 web" \
	"set $C1 url https://www.example.co.jp/search" \
	"set $C1 vuln-type クロスサイト・スクリプティング" \
	"set $C1 product \"Example サーチ\"" \
	"party $C1 operator info@example.co.jp name \"Example 株式会社\" lang ja key $OPERATOR" \
	"send $C1 stage1" || bail "staff commands for $C1"
staff "accept $C2 web" \
	"set $C2 url https://shop.gone.example/cart" \
	"set $C2 vuln-type SQLインジェクション" \
	"party $C2 operator webmaster@gone.example lang ja" \
	"send $C2 stage1" || bail "staff commands for $C2"
process
tap_is "stage 1 of $C1 is sent" "$(state_of "$C1" stage1)" sent
tap_is "stage 1 of $C2 is sent" "$(state_of "$C2" stage1)" sent
tap_is "that is contact attempt 1" \
	"$(ctl case "$C2" --json | jq -r '"\(.state_name) \(.contact_attempts)"')" "contacting 1"

# ---- the daily cap: ack, ack, acceptance reached the discoverer; the
# second acceptance is held
tap_is "the first acceptance is sent" "$(state_of "$C1" acceptance)" sent
tap_is "the second is held by the daily cap" "$(state_of "$C2" acceptance)" held
tap_is "exactly 3 mails reached the discoverer" "$(delivered_to taro@discoverer.example | wc -l)" 3
tap_is "staff are told once" \
	"$(ctl attention --json | jq '[.[] | select(.kind == "daily-cap")] | length')" 1

# ---------------------------------------------- the bounces of gone.example
process # the first bounce
tap_is "stage 1 of $C2 bounced" "$(state_of "$C2" stage1)" bounced
tap_like "Postfix bounced it as user unknown" "$(postfix_maillog)" \
	'to=<webmaster@gone.example>.*status=bounced \(user unknown\)'
tap_is "the milter spooled Postfix's bounce as a bounce" \
	"$(grep -c 'class=bounce' "$W/milter.log")" 2
tap_is "it counts as failed contact attempt 1: attempt 2 is made" \
	"$(ctl case "$C2" --json | jq -r '"\(.state_name) \(.contact_attempts)"')" "contacting 2"
tap_is "attempt 2 went out" "$(state_of "$C2" stage1-reminder 2)" sent
process # its bounce: attempt 3
tap_is "attempt 2 is marked bounced" "$(state_of "$C2" stage1-reminder 2)" bounced
tap_is "attempt 3 is made" "$(ctl case "$C2" --json | jq -r '"\(.state_name) \(.contact_attempts)"')" \
	"contacting 3"
process # its bounce: unreachable
tap_is "attempt 3 is marked bounced" "$(state_of "$C2" stage1-reminder 3)" bounced
tap_is "after the third the operator is unreachable" \
	"$(ctl case "$C2" --json | jq -r '"\(.state_name) \(.contact_attempts)"')" "unreachable 3"
tap_is "three bounces came back for $C2" \
	"$(outbox | jq --arg c "$C2" '[.[] | select(.case == $c and .state == "bounced")] | length')" 3
# ---- stage 1 to the operator: encrypted to the operator's key alone
st1=$(delivered_to info@example.co.jp)
tap_is "one mail reached the operator" "$(printf '%s\n' "$st1" | grep -c .)" 1
tap_like "it is multipart/encrypted" "$(cat "$st1")" 'Content-Type: multipart/encrypted'
opsub=$(GNUPGHOME=$OGH gpg --batch --with-colons --list-keys "$OPERATOR" |
	awk -F: '$1 == "sub" && $12 ~ /e/ { print $5 }')
GNUPGHOME=$OGH gpg --batch --list-packets "$st1" >"$W/st1.packets" 2>&1
tap_is "encrypted to the operator's encryption key, and no other" \
	"$(awk '/^:pubkey enc packet:/ { for (i = 1; i <= NF; i++) if ($i == "keyid") print $(i + 1) }' "$W/st1.packets")" \
	"$opsub"
GNUPGHOME=$OGH gpg --batch --status-fd 2 --decrypt "$st1" >"$W/st1.plain" 2>"$W/st1.status"
tap_like "the operator decrypts it" "$(cat "$W/st1.status")" 'DECRYPTION_OKAY'
tap_like "signed inside by the desk key" "$(cat "$W/st1.status")" "VALIDSIG [0-9A-F]+ .* $DESK"

# ---- ISO-2022-JP: the subject and the text decode to what render shows
ctl render stage1 "$C1" --now "$now" --json >"$W/st1.render" || bail "todokectl render"
tap_like "the subject is RFC 2047 ISO-2022-JP" "$(python3 "$pgpmime" header "$st1" Subject)" \
	'=\?(iso|ISO)-2022-(jp|JP)\?[bB]\?'
tap_is "it decodes to the rendered subject" "$(python3 "$pgpmime" subject "$st1")" \
	"$(jq -r .subject "$W/st1.render")"
tap_like "the text part is ISO-2022-JP" "$(cat "$W/st1.plain")" \
	'Content-Type: text/plain; charset=(iso|ISO)-2022-(jp|JP)'
tap_is "it decodes to the rendered text" "$(python3 "$pgpmime" text "$W/st1.plain")" \
	"$(jq -r .body "$W/st1.render")"

# ---- the operator's reply releases stage 2 (the operator's domain)
cat >"$W/reply.eml" <<EOF
From: Example <info@example.co.jp>
To: vuln-contact@localhost
Subject: Re: [$C1] contact
Message-ID: <pfd-reply-1@example.co.jp>

担当は情報システム部です。
EOF
send info@example.co.jp vuln-contact@localhost "$W/reply.eml"
process
tap_is "stage 2 is sent" "$(state_of "$C1" stage2)" sent
tap_is "two mails reached the operator" "$(delivered_to info@example.co.jp | wc -l)" 2
st2=$(mail_to info@example.co.jp '詳細') || bail "no stage 2 in the Maildir"
GNUPGHOME=$OGH gpg --batch --status-fd 2 --decrypt "$st2" >"$W/st2.plain" 2>"$W/st2.status"
tap_like "stage 2 decrypts for the operator, signed by the desk" "$(cat "$W/st2.status")" \
	"VALIDSIG [0-9A-F]+ .* $DESK"
python3 "$pgpmime" text "$W/st2.plain" >"$W/st2.text"
tap_like "it carries the details: the page" "$(cat "$W/st2.text")" 'https://www\.example\.co\.jp/search'
tap_like "and the type" "$(cat "$W/st2.text")" 'クロスサイト・スクリプティング'
tap_like "and the completion-report form, ISO-2022-JP as well" \
	"$(python3 "$pgpmime" parts "$W/st2.plain")" 'text/plain iso-2022-jp .*attachment'

# ---- nothing to the operator names the discoverer
tap_unlike "no 山田太郎 or his address in the raw mail to the operator" \
	"$(cat $(delivered_to info@example.co.jp))" '山田|taro@|discoverer\.example'
tap_like "the decrypted texts read as text (they name the operator)" \
	"$(python3 "$pgpmime" texts "$W/st2.plain")" 'Example 株式会社 様'
tap_unlike "nor in the decrypted texts" \
	"$(cat "$W/st1.plain" "$W/st2.plain"; python3 "$pgpmime" texts "$W/st1.plain"
	   python3 "$pgpmime" texts "$W/st2.plain")" \
	'山田|太郎|taro@|discoverer\.example'

tap_is "still 3 mails reached the discoverer" "$(delivered_to taro@discoverer.example | wc -l)" 3

# --------------------------------------------------- subjects say nothing
for f in $(notices_delivered); do
	python3 "$pgpmime" subject "$f"
done >"$W/subjects"
total=$(grep -c . "$W/subjects")
# 2 acknowledgements, 1 acceptance, stage 1 and 2 to example.co.jp, and
# 3 staff notices (2 new reports, 1 unreachable); the rest bounced or is held.
tap_is "the desk's notices in the Maildir" "$total" 8
tap_is "every subject carries the case tag" "$(grep -c '\[IPA#[0-9]\{8\}\]' "$W/subjects")" "$total"
tap_unlike "no subject names the site, the type, the product or the discoverer" \
	"$(cat "$W/subjects")" \
	'example\.co\.jp|gone\.example|search|cart|クロスサイト|スクリプ|SQL|インジェクション|サーチ|Example|山田|太郎|taro'

# ---- the desk's own notices pass the milter untouched
tap_is "3 staff notices reached the control address" "$(delivered_to vuln-control@localhost | wc -l)" 3
tap_is "the milter took none of them in as a command" "$(grep -c 'class=command' "$W/milter.log")" 0
tap_is "and the processor dropped no command mail" "$(ctl commands --json | jq .dropped)" 0

tap_unlike "no milter errors in Postfix's log" "$(postfix_maillog)" \
	'milter.*(timeout|unreachable|error|fatal)|warning: .*milter'
if [ "$tap_failures" -gt 0 ]; then
	sed 's/^/# processor: /' "$W/processor.log" | tail -30
	sed 's/^/# milter: /' "$W/milter.log" | tail -20
fi
tap_done
