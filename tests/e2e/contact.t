#!/bin/bash
# contact.t - end to end over real SMTP, the contact policy (rules/: 3
# attempts 10 business days apart): stage 1 never answered ends in
# unreachable, with the stage-1 reminders and the discoverer's notice taken
# from the Maildir; and a stage 1 to an address Postfix cannot deliver:
# Postfix's own bounce to the notice's VERP address passes the milter, marks
# the notice bounced and counts as a failed attempt at once.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/e2e/e2e.sh"
desk_up
A=IPA#00000001
B=IPA#00000002

for n in 1 2; do
	desk_report report$n 'Discoverer <discoverer@example.org>' '脆弱性の届出' <<<"https://www$n.operator.example/ XSS"
	tap_like "report $n: Postfix accepts it" "$DESK_REPLY" '^250 '
done
process 2027-06-01T10:00:00+09:00
tap_is "two cases" "$(desk_ctl cases | grep -c '^IPA#')" 2

# ---- case 1: nobody answers
desk_staff accept1 2027-06-01T11:00:00+09:00 <<EOF2
accept $A web
set $A url https://www1.operator.example/
party $A operator security@operator.example key $OPERATOR_KEY
send $A stage1
EOF2
# ---- case 2: the operator's address does not exist (Postfix: error transport)
desk_staff accept2 2027-06-01T11:00:00+09:00 <<EOF2
accept $B web
set $B url https://www2.operator.example/
party $B operator webmaster@nowhere.invalid key $OPERATOR_KEY
send $B stage1
EOF2
process 2027-06-01T11:01:00+09:00
tap_is "case 1 is contacting, attempt 1" \
	"$(desk_ctl case $A --json | jq -r '"\(.state_name) \(.contact_attempts)"')" "contacting 1"
notice_ok $A stage1 operator security@operator.example encrypted 'ウェブページ'
tap_like "Postfix bounced case 2's stage 1" "$(cat "$PF_MAILLOG")" \
	'to=<webmaster@nowhere.invalid>.*status=bounced'
tap_like "its bounce went to the notice's VERP address" "$(cat "$PF_MAILLOG")" \
	"to=<vuln-bounce\\+n[0-9]+@localhost>.*status=sent"
tap_like "the milter spooled it as a bounce" "$(cat "$DESK/log/milter.log")" 'class=bounce'
process 2027-06-02T10:00:00+09:00
tap_is "case 2's stage 1 is marked bounced" \
	"$(desk_ctl outbox --json | jq -r --arg c $B '[.[] | select(.case == $c and .notice == "stage1")] | last | .state')" \
	bounced
tap_is "the bounce counts as a failed attempt: the next one at once" \
	"$(desk_ctl case $B --json | jq .contact_attempts)" 2
tap_is "a stage-1 reminder went as attempt 2" "$(count_notices $B stage1-reminder)" 1

# ---- case 1 goes on unanswered: attempts 2 and 3, then unreachable
tap_is "attempt 1 of case 1 waits until 2027-06-15" \
	"$(desk_ctl case $A --json | jq -r .clocks.contact.due | cut -c1-10)" 2027-06-15
process 2027-06-16T00:00:10+09:00
tap_is "attempt 2: a stage-1 reminder (no postal address)" "$(count_notices $A stage1-reminder)" 1
notice_ok $A stage1-reminder operator security@operator.example encrypted '再送|ウェブページ'
tap_is "attempt 2 waits until 2027-06-30" \
	"$(desk_ctl case $A --json | jq -r .clocks.contact.due | cut -c1-10)" 2027-06-30
process 2027-07-01T00:00:10+09:00
tap_is "attempt 3" "$(count_notices $A stage1-reminder)" 2
tap_is "still contacting" "$(state $A)" contacting
tap_is "attempt 3 waits until 2027-07-15" \
	"$(desk_ctl case $A --json | jq -r .clocks.contact.due | cut -c1-10)" 2027-07-15
process 2027-07-15T23:00:00+09:00
tap_is "still contacting on the last day" "$(state $A)" contacting
process 2027-07-16T00:00:10+09:00
tap_is "unreachable after three unanswered attempts" "$(state $A)" unreachable
tap_is "staff are told" "$(attention_of $A unreachable)" 1
notice_ok $A unreachable discoverer discoverer@example.org encrypted '連絡'

tap_is "case 2: three bounced attempts, unreachable long before" \
	"$(desk_ctl case $B --json | jq -r '"\(.state_name) \(.contact_attempts)"')" "unreachable 3"
tap_is "each bounce was applied as one" "$(grep -c 'hard bounce' "$DESK/log/processor.log")" 3

desk_done
