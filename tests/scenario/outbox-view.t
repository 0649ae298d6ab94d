#!/bin/sh
# outbox-view.t - todokectl outbox shows each notice's delivery to its
# recipient: state, reason, tries, next try, sent time, Message-ID (and
# whether it went encrypted), in JSON and in the text table; a deferred
# notice shows its next try 5 minutes on, then its sent time; the
# discoverer's address is never listed; a sendmail that cannot be run
# defers the notice with the reason.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

OPERATOR=18FE12D12DA237954DB2293C8DDF059BAEF472E6
TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
opts="$opts -o outbound.sendmail=$TOP_SRCDIR/tests/lib/sendmail-capture"
W=IPA#00000001
row() { # notice jq
	# shellcheck disable=SC2086
	"$todokectl" $opts outbox --json |
		jq -r --arg n "$1" "[.[] | select(.case == \"$W\" and .notice == \$n)] | last | $2"
}

report r1 <<'EOF2'
https://www.example.co.jp/ has an XSS.
EOF2
run_at 2027-03-01T10:00:00+09:00
tap_is "the acknowledgement: sent, no tries, sent time, not encrypted" \
	"$(row acknowledgement '"\(.state) \(.tries) \(.next_try) \(.sent) \(.encrypted) \(.reason)"')" \
	"sent 0 null 2027-03-01T10:00:00+09:00 false null"
tap_is "the discoverer's address is not listed" "$(row acknowledgement .recipient)" null

# sendmail fails for now (EX_TEMPFAIL): stage 1 is deferred.
TDK_CAPTURE_EXIT=75
export TDK_CAPTURE_EXIT
tap_ok "accepted, stage 1 queued" do_at 2027-03-02T10:00:00+09:00 "accept $W web" \
	"set $W url https://www.example.co.jp/" \
	"party $W operator info@example.co.jp key $OPERATOR" "send $W stage1"
run_at 2027-03-02T10:00:00+09:00
tap_is "stage 1 is deferred, with the reason, one try and the next one" \
	"$(row stage1 '"\(.state)|\(.reason)|\(.tries)|\(.next_try)|\(.sent)|\(.recipient)"')" \
	"deferred|$TOP_SRCDIR/tests/lib/sendmail-capture exited with 75|1|2027-03-02T10:05:00+09:00|null|info@example.co.jp"
id=$(row stage1 .id)
mid=$(row stage1 .message_id)
ctl outbox
tap_is "the text table says the same" "$(printf '%s\n' "$out" | grep "^$id	")" \
	"$id	$W	stage1	operator	deferred	2027-03-02T10:00:00+09:00	1	2027-03-02T10:05:00+09:00	-	$mid	$TOP_SRCDIR/tests/lib/sendmail-capture exited with 75	attempt 1 of 3"

TDK_CAPTURE_EXIT=0
run_at 2027-03-02T10:06:00+09:00
tap_is "then it is sent, encrypted, after 1 failed try" \
	"$(row stage1 '"\(.state) \(.tries) \(.next_try) \(.sent) \(.encrypted) \(.reason)"')" \
	"sent 1 null 2027-03-02T10:06:00+09:00 true null"
ctl outbox
tap_is "and the table shows the sent time" "$(printf '%s\n' "$out" | grep "^$id	")" \
	"$id	$W	stage1	operator	sent	2027-03-02T10:00:00+09:00	1	-	2027-03-02T10:06:00+09:00	$mid	-	attempt 1 of 3"
# A sendmail that is not there: the notice waits, and says why.
report r2 <<'EOF2'
Another report.
EOF2
# shellcheck disable=SC2086
"$processor" $opts -o outbound.sendmail=/nonexistent/sendmail -f --once \
	--now 2027-03-03T10:00:00+09:00 >"$tap_tmp/run.out" 2>&1
tap_is "a missing sendmail defers the notice, with the reason" \
	"$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.case == "IPA#00000002" and .notice == "acknowledgement")] | last | "\(.state)|\(.tries)|\(.reason)"')" \
	"deferred|1|cannot run /nonexistent/sendmail: No such file or directory"
tap_done
