#!/bin/sh
# web-expiry.t - the 9-month completion deadline (rules/: web.completion,
# auto_close false): the case waits for staff as "expired"; an extension
# with a reason brings it back; closing it as expired ends it. Also: a
# reply to a closed case reopens nothing, and an unknown case number is
# taken as a new report with staff told.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

mail_to r1 vuln-info@localhost 'Taro Yamada <taro@discoverer.example>' 'report' <<'EOF2'
XSS.
EOF2
feed r1 vuln-info@localhost taro@discoverer.example
run_at 2027-01-29T10:00:00+09:00
A=IPA#00000001
tap_ok "stage 2 on 2027-01-29" do_at 2027-01-29T11:00:00+09:00 \
	"accept $A web" "set $A url https://www.example.co.jp/" \
	"party $A operator sec@example.co.jp" "send $A stage2"
tap_is "9 months from Jan 29 end on Oct 29" "$(due $A completion)" 2027-10-29
tap_is "3 months from Jan 29 are clamped to Apr 29" "$(due $A fix)" 2027-04-29
run_at 2027-10-29T23:59:00+09:00
tap_is "not expired on the last day" "$(case_field $A .state_name)" detail-sent
run_at 2027-10-30T00:00:30+09:00
tap_is "expired after it, waiting for staff" "$(case_field $A .state_name)" expired
tap_is "staff are told" "$(attention $A expired)" 1
tap_is "nothing is closed by itself" "$(case_field $A .closed)" null
tap_ok "staff extend the completion deadline by 2 months" \
	do_at 2027-11-01T10:00:00+09:00 "extend $A completion 2M reason \"fix scheduled for December\""
tap_is "back to where it was" "$(case_field $A .state_name)" detail-sent
tap_is "the new deadline" "$(due $A completion)" 2027-12-29
run_at 2027-12-30T00:00:30+09:00
tap_is "expired again after the extension" "$(case_field $A .state_name)" expired
tap_ok "close it as expired" do_at 2028-01-04T10:00:00+09:00 "close $A expired"
tap_is "closed with outcome expired" "$(case_field $A '.state_name + "/" + .outcome')" closed/expired
tap_is "the discoverer is told handling ended" "$(notices_to $A ended discoverer)" 1
tap_is "the operator is told too" "$(notices_to $A ended operator)" 1

mail_to after vuln-contact@localhost 'sec@example.co.jp' "Re: [$A] fixed now" <<'EOF2'
We fixed it after all.
EOF2
feed after vuln-contact@localhost sec@example.co.jp
run_at 2028-01-05T10:00:00+09:00
tap_is "a reply to a closed case reopens nothing" "$(case_field $A .state_name)" closed
tap_is "staff are told" "$(attention $A after-close)" 1

mail_to unknown vuln-contact@localhost 'someone@example.net' "Re: [IPA#00000099] question" <<'EOF2'
About my report.
EOF2
feed unknown vuln-contact@localhost someone@example.net
run_at 2028-01-05T11:00:00+09:00
tap_is "an unknown case number becomes a new case" "$(case_field IPA#00000002 .state_name)" received
tap_is "staff are told of the unknown number" "$(attention IPA#00000002 unknown-case)" 1
tap_is "no case 99 appears" "$("$todokectl" $opts case IPA#00000099 >/dev/null 2>&1; echo $?)" 1
tap_done
