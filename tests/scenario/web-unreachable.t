#!/bin/sh
# web-unreachable.t - the contact policy (rules/: 3 attempts, 10 business
# days apart, the 2nd by post when a postal address is known): stage 1
# unanswered three times ends in unreachable, staff are told and the
# discoverer is asked for a contact; a late reply resumes the case; a hard
# bounce of an attempt counts as a failed attempt at once; auto-replies
# never count as an answer.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

# ---- case 1: no answer at all, the 2nd attempt by post
echo 'XSS.' | report r1
run_at 2027-06-01T10:00:00+09:00
A=IPA#00000001
tap_ok "stage 1 to an operator with a postal address" do_at 2027-06-01T11:00:00+09:00 \
	"accept $A web" "set $A url https://www.example.net/" \
	"party $A operator info@example.net postal \"1-2-3 Chiyoda, Tokyo\"" \
	"send $A stage1"
tap_is "attempt 1 waits until 2027-06-15" "$(due $A contact)" 2027-06-15

mail_to vacation vuln-contact@localhost 'info@example.net' "Auto: [$A]" \
	'Auto-Submitted: auto-replied' <<'EOF2'
I am away.
EOF2
feed vacation vuln-contact@localhost info@example.net
run_at 2027-06-02T10:00:00+09:00
tap_is "an auto-reply is no answer" "$(case_field $A .state_name)" contacting

run_at 2027-06-16T00:00:10+09:00
tap_is "attempt 2 is a letter held for staff to post" "$(notices $A postal-letter)" 1
tap_is "staff are asked to post it" "$(attention $A post-letter)" 1
tap_is "the wait does not start before it is posted" "$(case_field $A .clocks.contact.running)" false
run_at 2027-06-17T10:00:00+09:00
tap_is "nothing moves while the letter waits" "$(case_field $A .contact_attempts)" 2
tap_ok "staff confirm the letter was posted" do_at 2027-06-18T10:00:00+09:00 \
	"contacted $A post \"sent by registered mail\""
tap_is "attempt 2 waits 10 business days from posting" "$(due $A contact)" 2027-07-02
run_at 2027-07-03T10:00:00+09:00
tap_is "attempt 3 is a stage-1 reminder by mail" "$(notices $A stage1-reminder)" 1
tap_is "attempt 3 waits until 2027-07-16 (Marine Day is the 19th)" "$(due $A contact)" 2027-07-16
run_at 2027-07-16T23:00:00+09:00
tap_is "still contacting on the last day" "$(case_field $A .state_name)" contacting
run_at 2027-07-17T00:00:10+09:00
tap_is "unreachable after three unanswered attempts" "$(case_field $A .state_name)" unreachable
tap_is "staff are told" "$(attention $A unreachable)" 1
tap_is "the discoverer is asked for a contact" "$(notices $A unreachable)" 1
tap_is "no further attempt" "$(notices $A stage1-reminder)" 1

mail_to late vuln-contact@localhost 'info@example.net' "Re: [$A] ウェブページのセキュリティ上の問題" <<'EOF2'
遅くなりました。担当は私です。
EOF2
feed late vuln-contact@localhost info@example.net
run_at 2027-08-02T10:00:00+09:00
tap_is "a late reply resumes the case" "$(case_field $A .resumptions)" 1
tap_is "and stage 2 follows (same domain)" "$(case_field $A .state_name)" detail-sent
ctl timeline $A
tap_like "the resumption is recorded" "$out" 'resumed'

# ---- case 2: the first attempt bounces
echo 'XSS.' | report r2
run_at 2027-06-01T10:00:00+09:00
B=IPA#00000002
tap_ok "stage 1 to case 2" do_at 2027-06-01T11:00:00+09:00 \
	"accept $B web" "set $B url https://www.example.com/" \
	"party $B operator nobody@example.com" "send $B stage1"
token=$(last_notice_token $B stage1)
mail_to bounce "vuln-bounce+$token@localhost" 'MAILER-DAEMON@mx.example.com' \
	'Undelivered Mail Returned to Sender' <<'EOF2'
Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
EOF2
feed bounce "vuln-bounce+$token@localhost" ''
run_at 2027-06-02T10:00:00+09:00
tap_is "a hard bounce moves to the next attempt at once" "$(case_field $B .contact_attempts)" 2
tap_is "the next attempt is sent (no postal address)" "$(notices $B stage1-reminder)" 1
tap_is "and waits 10 business days from now" "$(due $B contact)" 2027-06-16

# ---- case 3: someone else answers
echo 'XSS.' | report r3
run_at 2027-06-01T10:00:00+09:00
D=IPA#00000003
tap_ok "stage 1 to case 3" do_at 2027-06-01T11:00:00+09:00 \
	"accept $D web" "set $D url https://www.example.org/" \
	"party $D operator admin@example.org" "send $D stage1"
mail_to stranger vuln-contact@localhost 'someone@elsewhere.example' "Re: [$D] hello" <<'EOF2'
What is this about? Send me the details.
EOF2
feed stranger vuln-contact@localhost someone@elsewhere.example
run_at 2027-06-03T10:00:00+09:00
tap_is "mail from a stranger does not move the case" "$(case_field $D .state_name)" contacting
tap_is "it is stored as unverified correspondence" "$(case_field $D .n_unverified)" 1
tap_is "staff are told" "$(attention $D unverified)" 1
tap_is "nothing is sent back" "$(notices $D stage2)" 0
tap_done
