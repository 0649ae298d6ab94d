#!/bin/bash
# product.t - end to end over real SMTP, the product path: a report
# accepted as a software product is forwarded to the coordinator
# (encrypted to its key), the coordinator's mail is recorded on the case,
# the priority provision and the publication are told to the discoverer,
# and the case closes as published. Every notice is taken from the Maildir,
# decrypted and verified with gpg.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/e2e/e2e.sh"
desk_up
A=IPA#00000001

desk_report report 'Discoverer <discoverer@example.org>' '脆弱性の届出（製品）' <<<'ExampleRouter 1.0 の管理画面にバッファオーバーフローがあります。'
tap_like "the report: Postfix accepts it" "$DESK_REPLY" '^250 '
process 2027-02-01T10:00:00+09:00
tap_is "case 1 is received" "$(state $A)" received

# The coordinator's key: the operator's test key stands in for it.
desk_staff forward 2027-02-02T10:00:00+09:00 <<EOF2
accept $A product
set $A product "ExampleRouter 1.0"
party $A coordinator coordinator@example.org key $OPERATOR_KEY
send $A forward
EOF2
tap_like "the command mail: Postfix accepts it" "$DESK_REPLY" '^250 '
process 2027-02-02T10:01:00+09:00
tap_is "forwarded" "$(state $A)" forwarded
notice_ok $A forward coordinator coordinator@example.org encrypted 'ExampleRouter 1\.0'

fwd=$(desk_outbox_id $A forward)
desk_mail coord coordinator@example.org vuln-contact@localhost "Re: [$A] forwarded" \
	"In-Reply-To: <$fwd>" <<<'The developer was notified.'
send_ok "the coordinator's mail: Postfix accepts it" coord coordinator@example.org \
	vuln-contact@localhost "$DESK/out/coord.eml"
process 2027-02-10T10:00:00+09:00
tap_like "it is recorded on the case" "$(desk_ctl timeline $A)" 'coordinator-update'
tap_is "the state does not move by it" "$(state $A)" forwarded

desk_staff prio 2027-03-01T10:00:00+09:00 <<<"record $A priority-provided 2027-03-01 \"electric power ISAC\""
process 2027-03-01T10:01:00+09:00
notice_ok $A priority-provided discoverer discoverer@example.org encrypted '.'
desk_staff pub 2027-03-15T10:00:00+09:00 <<<"record $A published 2027-03-15 JVN#12345678"
process 2027-03-15T10:01:00+09:00
tap_is "published" "$(state $A)" published
notice_ok $A published discoverer discoverer@example.org encrypted '対象製品: ExampleRouter 1\.0'
desk_staff close 2027-03-16T10:00:00+09:00 <<<"close $A published"
process 2027-03-16T10:01:00+09:00
tap_is "closed as published" \
	"$(desk_ctl case $A --json | jq -r '"\(.state_name) \(.outcome)"')" "closed published"
tap_is "one publication notice" "$(count_notices $A published)" 1
tap_is "four command mails obeyed" "$(desk_ctl commands --json | jq .accepted)" 4

desk_done
