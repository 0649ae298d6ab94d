#!/bin/sh
# delivery-retry.t - what the outbox does with sendmail's exit status (the
# sendmail(1) interface: 0 taken, EX_TEMPFAIL 75 try again, 64/65/67/68/69
# permanent), with a stand-in sendmail: a temporary failure is deferred and
# tried again at 5 and then 10 minutes, not a second earlier, until
# outbound.max_tries fail it and staff are told; a permanent one fails at
# once; a crash between the hand-over and its record sends the notice once
# more with the same Message-ID, and never a third time. outbound.sendmail
# carries arguments of its own, split as words without a shell; a relative
# program is refused.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
# outbound.sendmail with words of its own (one of them quoted, with a
# blank) is set in a copy of the configuration: $opts is split at blanks.
sed "s|^  sendmail = \"\";|  sendmail = \"'$TOP_SRCDIR/tests/lib/sendmail-capture' -oi 'two words'\";|" \
	"$TOP_SRCDIR/conf/todoke.conf" >"$tap_tmp/todoke.conf"
opts=$(printf '%s\n' "$opts" | sed "s|-c [^ ]*|-c $tap_tmp/todoke.conf|")
opts="$opts -o outbound.max_tries=3"

# How many times sendmail was run for this recipient.
tries_to() {
	grep -lx -- "$1" "$TDK_CAPTURE_DIR"/*.args 2>/dev/null | wc -l
}
state_of() { # case notice
	"$todokectl" $opts outbox --json | jq -r --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | last | .state'
}
failed_acks() { # case: staff attention items for its failed acknowledgement
	"$todokectl" $opts attention --json | jq --arg c "$1" '[.[] | select(.case == $c and
		.kind == "delivery-failed" and (.text | startswith("notice acknowledgement")))] | length'
}
reason_of() { # case notice
	"$todokectl" $opts outbox --json | jq -r --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | last | .hold_reason'
}
report_from() { # name address
	mail_to "$1" vuln-info@localhost "$2" 'report' <<'EOF'
https://www.example.co.jp/ has a cross-site scripting problem.
EOF
	feed "$1" vuln-info@localhost "$2"
}

# ---- the argument vector
report_from r1 taro@discoverer.example
TDK_CAPTURE_EXIT=75 run_at 2027-03-01T10:00:00+09:00
f=$(grep -lx taro@discoverer.example "$TDK_CAPTURE_DIR"/*.args)
tap_is "sendmail gets its own words first, then -i -f VERP -- rcpt" \
	"$(tr '\n' '|' <"$f")" \
	"-oi|two words|-i|-f|vuln-bounce+$(last_notice_token IPA#00000001 acknowledgement)@localhost|--|taro@discoverer.example|"

# ---- EX_TEMPFAIL: deferred, tried at +5 min, +10 min, then failed
tap_is "exit 75 defers the acknowledgement" "$(state_of IPA#00000001 acknowledgement)" deferred
tap_is "after one try" "$(tries_to taro@discoverer.example)" 1
tap_like "the reason is kept" "$(reason_of IPA#00000001 acknowledgement)" 'exited with 75$'
tap_is "staff are not told of a deferral" "$(failed_acks IPA#00000001)" 0
TDK_CAPTURE_EXIT=75 run_at 2027-03-01T10:04:59+09:00
tap_is "not tried again before 5 minutes" "$(tries_to taro@discoverer.example)" 1
TDK_CAPTURE_EXIT=75 run_at 2027-03-01T10:05:00+09:00
tap_is "tried again at 5 minutes" "$(tries_to taro@discoverer.example)" 2
tap_is "still deferred" "$(state_of IPA#00000001 acknowledgement)" deferred
TDK_CAPTURE_EXIT=75 run_at 2027-03-01T10:14:59+09:00
tap_is "not tried again before 10 more minutes" "$(tries_to taro@discoverer.example)" 2
TDK_CAPTURE_EXIT=75 run_at 2027-03-01T10:15:00+09:00
tap_is "the third try at 10 more minutes" "$(tries_to taro@discoverer.example)" 3
tap_is "outbound.max_tries (3) failed tries fail it" \
	"$(state_of IPA#00000001 acknowledgement)" failed
tap_is "staff are told once" "$(failed_acks IPA#00000001)" 1
ctl attention
tap_like "with the number of tries and why" "$out" \
	'delivery-failed	notice acknowledgement to the discoverer failed after 3 tries: .*exited with 75'
run_at 2027-03-02T10:00:00+09:00
tap_is "a failed notice is never tried again" "$(tries_to taro@discoverer.example)" 3

# ---- permanent failures: failed at the first try
for code in 67 69; do
	report_from "r$code" "p$code@discoverer.example"
done
# Cases 2 and 3; the first run fails one with 67, then the other with 69.
TDK_CAPTURE_EXIT=67 run_at 2027-03-02T11:00:00+09:00
TDK_CAPTURE_EXIT=69 run_at 2027-03-02T11:00:01+09:00
tap_is "exit 67 (unknown user) fails the notice at once" \
	"$(state_of IPA#00000002 acknowledgement)/$(tries_to p67@discoverer.example)" failed/1
tap_is "exit 69 (unavailable) fails the notice at once" \
	"$(state_of IPA#00000003 acknowledgement)/$(tries_to p69@discoverer.example)" failed/1
tap_is "staff are told of each" \
	"$(failed_acks IPA#00000002)$(failed_acks IPA#00000003)" 11
ctl attention
tap_like "after one try" "$out" \
	'notice acknowledgement to the discoverer failed after 1 tries: .*exited with 67'
run_at 2027-03-03T11:00:00+09:00
tap_is "neither is tried again" \
	"$(tries_to p67@discoverer.example)$(tries_to p69@discoverer.example)" 11

# ---- a crash after sendmail took the message, before it was recorded
report_from r4 jiro@discoverer.example
TDK_CAPTURE_KILL_FOR=jiro@discoverer.example "$processor" $opts -f --once \
	--now 2027-03-04T10:00:00+09:00 >"$tap_tmp/crash.out" 2>&1
tap_is "the processor died (SIGKILL) in the hand-over" "$?" 137
tap_is "sendmail had the acknowledgement" "$(tries_to jiro@discoverer.example)" 1
tap_is "it is not recorded as sent" "$(state_of IPA#00000004 acknowledgement)" queued
run_at 2027-03-04T10:01:00+09:00
tap_is "after the restart it is sent again" "$(tries_to jiro@discoverer.example)" 2
tap_is "and recorded" "$(state_of IPA#00000004 acknowledgement)" sent
ids=$(for f in $(grep -lx jiro@discoverer.example "$TDK_CAPTURE_DIR"/*.args); do
	grep -i -m 1 '^Message-ID:' "${f%.args}.eml" | cut -d ' ' -f 2
done | sort | uniq -c | tr -s ' ')
tap_is "both copies carry the same Message-ID" "$ids" \
	" 2 <$(last_notice_id IPA#00000004 acknowledgement)>"
run_at 2027-03-04T10:02:00+09:00
run_at 2027-03-05T10:02:00+09:00
tap_is "there is no third copy" "$(tries_to jiro@discoverer.example)" 2

# ---- a relative sendmail is refused, the notices stay queued
report_from r5 saburo@discoverer.example
opts="$opts -o outbound.sendmail=sendmail"
run_at 2027-03-05T11:00:00+09:00
tap_like "the processor says why" "$(cat "$tap_tmp/run.out")" \
	'outbound.sendmail: "sendmail" is not an absolute path'
tap_is "nothing is handed over" "$(tries_to saburo@discoverer.example)" 0
tap_is "the acknowledgement stays queued" "$(state_of IPA#00000005 acknowledgement)" queued

tap_done
