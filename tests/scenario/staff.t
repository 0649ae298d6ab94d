#!/bin/sh
# staff.t - what staff see and say: non-acceptance with its reason and
# notice, precise refusals (unknown case, wrong state, bad period, unknown
# reason) that change nothing, the daily digest once per business day at
# the rules' time, and the legal hold that keeps personal data.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

for n in 1 2; do
	mail_to "r$n" vuln-info@localhost 'Taro <taro@discoverer.example>' 'report' <<'EOF2'
Something.
EOF2
	feed "r$n" vuln-info@localhost taro@discoverer.example
done
run_at 2027-03-05T08:00:00+09:00   # Friday, before the digest time
A=IPA#00000001 B=IPA#00000002

refused() { # description expected-message command...
	_d=$1 _m=$2
	shift 2
	printf '%s\n' "$@" >"$tap_tmp/cmd.in"
	# shellcheck disable=SC2086
	tap_run "$todokectl" $opts do --now 2027-03-05T10:00:00+09:00 - <"$tap_tmp/cmd.in"
	tap_like "$_d" "$rc:$err" "^[12]:.*$_m"
}
refused "an unknown case is named" "IPA#00000077: accept: unknown case" "accept IPA#77 web"
refused "a command in the wrong state says which state is needed" \
	"IPA#00000001: send: the case is received; this needs accepted" "send $A stage1"
refused "a bad period is refused with the parser's reason" "bad period '3x'" \
	"accept $A web" "extend $A fix 3x reason \"x\""
refused "an unknown reason code lists the known ones" "unknown reason code 'zz'" "reject $A zz"
refused "a discoverer update followed by a bad command" "unknown case" \
	"party $A discoverer new@discoverer.example name \"Jiro\"" "note IPA#88 x"
tap_is "after all those refusals case 1 is unchanged" "$(case_field $A .state_name)" received
ctl case $A --pii
tap_like "and the discoverer's personal data too" "$out" 'taro@discoverer'
tap_ok "the same update alone is applied" do_at 2027-03-05T10:00:00+09:00 \
	"party $A discoverer new@discoverer.example name \"Jiro\""
ctl case $A --pii
tap_like "to the personal data store" "$out" 'new@discoverer.example'

tap_ok "reject case 2 with reason (ウ)" do_at 2027-03-05T10:00:00+09:00 \
	"reject $B c \"outside the guideline\""
tap_is "not accepted" "$(case_field $B .state_name)" not-accepted
tap_is "with its reason code" "$(case_field $B .reason_code)" c
tap_is "the discoverer gets the non-acceptance notice" "$(notices $B non-acceptance)" 1
tap_ok "legal hold on case 2" do_at 2027-03-05T10:01:00+09:00 "hold $B"

tap_is "no digest before 09:00" \
	"$("$todokectl" $opts outbox --json | jq '[.[] | select(.notice == "digest")] | length')" 0
run_at 2027-03-05T09:00:30+09:00
tap_is "the digest at 09:00 on a business day" \
	"$("$todokectl" $opts outbox --json | jq '[.[] | select(.notice == "digest")] | length')" 1
tap_is "in Japanese, with a Message-ID of the desk (or it could not be sent)" \
	"$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.notice == "digest")] | last | "\(.lang) \(.message_id)"')" \
	"ja todoke.desk.n6@localhost"
run_at 2027-03-05T17:00:00+09:00
run_at 2027-03-06T10:00:00+09:00   # Saturday
run_at 2027-03-07T10:00:00+09:00   # Sunday
tap_is "once a day, and none at the weekend" \
	"$("$todokectl" $opts outbox --json | jq '[.[] | select(.notice == "digest")] | length')" 1
tap_ok "case 1 accepted with a stage 2 due" do_at 2027-03-08T08:00:00+09:00 \
	"accept $A web" "party $A operator sec@example.jp" "send $A stage2"
run_at 2027-03-08T09:30:00+09:00
ctl outbox --json
digest=$(printf '%s' "$out" | jq -r '[.[] | select(.notice == "digest")] | last | .detail')
tap_like "Monday's digest lists what falls due by the next business day" "$digest" \
	'^2027-03-08: 0 overdue, 0 due by the next business day, [0-9]+ staff notices'
run_at 2027-04-06T09:30:00+09:00
ctl outbox --json
digest=$(printf '%s' "$out" | jq -r '[.[] | select(.notice == "digest")] | last | .detail')
tap_like "the digest on the last day lists the investigation due" "$digest" \
	"$A investigation due 2027-04-06T23:59:59\\+09:00"
run_at 2027-04-07T09:30:00+09:00
ctl outbox --json
digest=$(printf '%s' "$out" | jq -r '[.[] | select(.notice == "digest")] | last | .detail')
tap_like "the next day's digest has what staff were told since: the overdue result" \
	"$digest" "$A overdue: the investigation result is overdue"

run_at 2027-04-10T10:00:00+09:00
ctl case $B --pii
tap_like "30 days after non-acceptance, the legal hold keeps the personal data" "$out" 'taro@discoverer'
tap_ok "release the hold" do_at 2027-04-12T10:00:00+09:00 "release $B"
run_at 2027-04-12T10:05:00+09:00
ctl case $B --pii
tap_unlike "released: the overdue destruction happens at once" "$out" 'taro@discoverer'
mail_to followup vuln-info@localhost 'Jiro <new@discoverer.example>' \
	"Re: [$A] report" <<'EOF2'
One more detail about my report.
EOF2
feed followup vuln-info@localhost new@discoverer.example
run_at 2027-04-12T11:00:00+09:00
tap_is "the discoverer's follow-up (from the address staff set) is no stranger's" \
	"$(case_field $A .n_unverified)" 0
tap_is "staff are told of it" "$(attention $A correspondence)" 1
tap_done
