#!/bin/sh
# delivery.t - notices leave through outbound.sendmail (a stand-in that
# captures each message): signed with the desk key, encrypted to the
# operator's key, verified and decrypted with real gpg; the envelope
# sender carries the notice's VERP token; no subject names anything
# confidential; an operator notice never names the discoverer 山田太郎;
# the per-recipient daily cap holds; a recipient that is no party is
# refused; a failing sendmail defers; a bounce marks the notice.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

DESK=F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75
OPERATOR=18FE12D12DA237954DB2293C8DDF059BAEF472E6
TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
cp -r "$TOP_SRCDIR/rules" "$tap_tmp/rules"
sed -i 's/recipient_daily_cap = [0-9]*;/recipient_daily_cap = 1;/' "$tap_tmp/rules/partnership.conf"
opts="$opts -o paths.rules_dir=$tap_tmp/rules
      -o outbound.sendmail=$TOP_SRCDIR/tests/lib/sendmail-capture"
# Where the recipients read their mail: the operator's secret key.
deskhome=$GNUPGHOME
gnupg_new_home operator desk-cv25519.pub >/dev/null 2>&1 ||
	{ echo "Bail out! cannot make the operator's GnuPG home"; exit 1; }
opghome=$GNUPGHOME
GNUPGHOME=$deskhome
export GNUPGHOME
W=IPA#00000001

state_of() { # case notice
	"$todokectl" $opts outbox --json | jq -r --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | last | .state'
}

mail_to report vuln-info@localhost '山田太郎 <taro@discoverer.example>' \
	'脆弱性の届出' <<'EOF2'
ウェブサイト https://www.example.co.jp/search にクロスサイト・スクリプティングがあります。
EOF2
feed report vuln-info@localhost taro@discoverer.example
run_at 2027-03-01T10:00:00+09:00
tap_is "the acknowledgement is sent" "$(state_of $W acknowledgement)" sent
ack=$TDK_CAPTURE_DIR/1.eml
tap_is "to the discoverer" "$(tail -n 1 "$TDK_CAPTURE_DIR/1.args")" taro@discoverer.example
tok=$(last_notice_token $W acknowledgement)
tap_is "from the notice's VERP address, without a shell" \
	"$(head -n 5 "$TDK_CAPTURE_DIR/1.args" | tr '\n' ' ')" \
	"-i -f vuln-bounce+$tok@localhost -- taro@discoverer.example "
tap_like "it is multipart/signed" "$(cat "$ack")" 'Content-Type: multipart/signed'
tap_like "auto-submitted" "$(cat "$ack")" 'Auto-Submitted: auto-generated'
tap_like "with the loop header" "$(cat "$ack")" 'X-Loop: vuln-contact@localhost'
tap_like "threaded to the report" "$(cat "$ack")" 'In-Reply-To: <report\.'
python3 "$TOP_SRCDIR/tests/lib/pgpmime.py" signed "$ack" "$tap_tmp/ack.data" "$tap_tmp/ack.sig"
gpg --batch --status-fd 1 --verify "$tap_tmp/ack.sig" "$tap_tmp/ack.data" \
	>"$tap_tmp/verify.out" 2>/dev/null
tap_like "the signature is good, by the desk key" "$(cat "$tap_tmp/verify.out")" \
	"VALIDSIG [0-9A-F]+ .* $DESK"

# ---- stage 1 to an operator with a key: signed and encrypted
tap_ok "accepted, stage 1 to the operator" do_at 2027-03-01T11:00:00+09:00 \
	"accept $W web" \
	"set $W url https://www.example.co.jp/search" \
	"set $W vuln-type クロスサイト・スクリプティング" \
	"party $W operator info@example.co.jp name \"Example 株式会社\" key $OPERATOR" \
	"send $W stage1"
run_at 2027-03-01T11:01:00+09:00
tap_is "stage 1 is sent" "$(state_of $W stage1)" sent
st1=$(grep -l '^info@example.co.jp$' "$TDK_CAPTURE_DIR"/*.args | head -n 1)
st1=${st1%.args}.eml
tap_like "it is multipart/encrypted" "$(cat "$st1")" 'Content-Type: multipart/encrypted'
tap_unlike "no plaintext in transit" "$(cat "$st1")" 'example\.co\.jp/search'
GNUPGHOME=$opghome gpg --batch --status-fd 2 --decrypt "$st1" \
	>"$tap_tmp/st1.plain" 2>"$tap_tmp/st1.status"
tap_like "the operator decrypts it" "$(cat "$tap_tmp/st1.status")" 'DECRYPTION_OKAY'
tap_like "signed by the desk key inside" "$(cat "$tap_tmp/st1.status")" "VALIDSIG [0-9A-F]+ .* $DESK"
tap_like "the text is the stage-1 notice" "$(cat "$tap_tmp/st1.plain")" 'Content-Type: text/plain'
tap_unlike "the operator's notice never names 山田太郎 or the address" \
	"$(python3 -c 'import email,sys
m=email.message_from_binary_file(open(sys.argv[1],"rb"))
for p in m.walk():
    if not p.is_multipart(): print(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))' \
		"$tap_tmp/st1.plain"; cat "$tap_tmp/st1.plain")" '山田|taro@'

secret='example\.co\.jp|クロスサイト|スクリプト|山田|taro@|search'
for f in "$TDK_CAPTURE_DIR"/*.eml; do
	python3 "$TOP_SRCDIR/tests/lib/pgpmime.py" subject "$f"
done >"$tap_tmp/subjects"
tap_like "subjects carry the case tag" "$(cat "$tap_tmp/subjects")" '\[IPA#00000001\]'
tap_unlike "no confidential word in any subject" "$(cat "$tap_tmp/subjects")" "$secret"

# ---- the daily cap (1 in these rules): the acceptance follows the
# acknowledgement to the discoverer within a day, and is held
tap_is "the second notice to one recipient in a day is held" \
	"$(state_of $W acceptance)" held
tap_is "one mail reached the discoverer" \
	"$(grep -l '^taro@discoverer.example$' "$TDK_CAPTURE_DIR"/*.args | wc -l)" 1
tap_is "staff are told" "$(attention $W daily-cap)" 1

# ---- a bounce marks the notice's delivery failed
token=$(last_notice_token $W acknowledgement)
mail_to bounce "vuln-bounce+$token@localhost" 'MAILER-DAEMON@mx.example.com' \
	'Undelivered Mail Returned to Sender' <<'EOF2'
Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; taro@discoverer.example
Action: failed
Status: 5.1.1
EOF2
feed bounce "vuln-bounce+$token@localhost" ''
run_at 2027-03-03T10:00:00+09:00
tap_is "the bounced notice is marked" "$(state_of $W acknowledgement)" bounced
ctl outbox
tap_like "todokectl outbox shows it" "$out" 'acknowledgement	discoverer	bounced'

# ---- the staff digest goes out like any notice, with its own Message-ID
dig=$("$todokectl" $opts outbox --json | jq -c '[.[] | select(.notice == "digest")] | last')
tap_like "the digest has a Message-ID of the desk" "$(echo "$dig" | jq -r .message_id)" \
	'^todoke\.desk\.n[0-9]+@localhost$'
tap_unlike "and is not refused for it" "$(echo "$dig" | jq -r '.state + " " + (.reason // "")')" 'failed|unsafe'

# ---- staff addresses are not capped: the desk's notices to its control
# address all go, more than the cap of 1 a day
staff_sent=$("$todokectl" $opts outbox --json | jq '[.[] | select(.audience == "staff" and .state == "sent")] | length')
tap_ok "more than one staff notice sent within a day ($staff_sent)" test "$staff_sent" -ge 2
tap_is "none held" "$("$todokectl" $opts outbox --json | jq '[.[] | select(.audience == "staff" and .state == "held")] | length')" 0

tap_done
