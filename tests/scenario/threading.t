#!/bin/sh
# threading.t - every notice names the case's thread: In-Reply-To is the
# party's last mail (for the discoverer the report, until it writes
# again), else (staff) the first notice the desk sent that party; References
# lists the report (for the discoverer), the earlier notices to that
# party in order, and the party's last mail. The first notice to a party
# that never wrote has neither header. Exact header values are checked.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

OPERATOR=18FE12D12DA237954DB2293C8DDF059BAEF472E6
TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
opts="$opts -o outbound.sendmail=$TOP_SRCDIR/tests/lib/sendmail-capture"
W=IPA#00000001

mail_of() { # case notice
	grep -l "^Message-Id: <$(last_notice_id "$1" "$2")>" "$TDK_CAPTURE_DIR"/*.eml
}
header() { # case notice header: its value, unfolded, or "none"
	python3 -c 'import email,sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
v = m[sys.argv[2]]
print(" ".join(v.split()) if v is not None else "none")' "$(mail_of "$1" "$2")" "$3"
}
id() { printf '<%s>' "$(last_notice_id "$W" "$1")"; }

mail_to report vuln-info@localhost 'Taro Yamada <taro@discoverer.example>' 'report' <<'EOF2'
https://www.example.co.jp/search has an XSS.
EOF2
feed report vuln-info@localhost taro@discoverer.example
run_at 2027-03-01T10:00:00+09:00
R="<report.$$@scenario.example>"
tap_is "the acknowledgement answers the report" "$(header $W acknowledgement In-Reply-To)" "$R"
tap_is "its References are the report" "$(header $W acknowledgement References)" "$R"

tap_ok "accepted, stage 1 sent" do_at 2027-03-02T10:00:00+09:00 \
	"accept $W web" \
	"set $W url https://www.example.co.jp/search" \
	"party $W operator info@example.co.jp key $OPERATOR" \
	"send $W stage1"
run_at 2027-03-02T10:01:00+09:00
tap_is "the acceptance still answers the report" "$(header $W acceptance In-Reply-To)" "$R"
tap_is "and lists the acknowledgement after it" "$(header $W acceptance References)" \
	"$R $(id acknowledgement)"
tap_is "the first notice to the operator has no In-Reply-To" "$(header $W stage1 In-Reply-To)" none
tap_is "nor References" "$(header $W stage1 References)" none

mail_to contact vuln-contact@localhost 'info@example.co.jp' "Re: [$W] contact" \
	"In-Reply-To: $(id stage1)" <<'EOF2'
We are the contact.
EOF2
feed contact vuln-contact@localhost info@example.co.jp
run_at 2027-03-03T10:00:00+09:00
C="<contact.$$@scenario.example>"
tap_is "stage 2 answers the operator's mail" "$(header $W stage2 In-Reply-To)" "$C"
tap_is "References: stage 1, then the operator's mail" "$(header $W stage2 References)" \
	"$(id stage1) $C"
# The 一次返信 reminder, 5 business days later.
run_at 2027-03-11T10:00:00+09:00
tap_is "the reminder answers the operator's mail" \
	"$(header $W reminder-first-reply In-Reply-To)" "$C"
tap_is "References: both earlier notices in order, then the mail" \
	"$(header $W reminder-first-reply References)" "$(id stage1) $(id stage2) $C"

# Staff never write: their notices answer the first one to them. Two
# mails from someone who is not a party tell staff twice more.
for i in 1 2; do
	mail_to "stranger$i" vuln-contact@localhost 'someone@elsewhere.example' "Re: [$W] hello" </dev/null
	feed "stranger$i" vuln-contact@localhost someone@elsewhere.example
	run_at "2027-03-12T1$i:00:00+09:00"
done
# shellcheck disable=SC2086
staff_ids=$("$todokectl" $opts outbox --json |
	jq -r --arg c "$W" '[.[] | select(.case == $c and .notice == "staff-notice") | "<\(.message_id)>"] | .[]')
n_staff=$(printf '%s\n' "$staff_ids" | wc -l)
tap_ok "staff were told more than twice" test "$n_staff" -gt 2
tap_is "the last staff notice answers the first" \
	"$(header $W staff-notice In-Reply-To)" "$(printf '%s\n' "$staff_ids" | head -n 1)"
tap_is "and lists every earlier one in order" "$(header $W staff-notice References)" \
	"$(printf '%s\n' "$staff_ids" | sed '$d' | tr '\n' ' ' | sed 's/ $//')"
# The daily digest has a Message-ID of its own and goes out.
# shellcheck disable=SC2086
digest=$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.notice == "digest")] | last | "\(.state) \(.message_id) \(.id)"')
tap_is "the staff digest is sent, with a Message-ID" "$digest" \
	"sent todoke.desk.n${digest##* }@localhost ${digest##* }"
tap_done
