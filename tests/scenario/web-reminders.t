#!/bin/sh
# web-reminders.t - the 20-business-day and 3-month reminders fire on the
# right days: across Golden Week (stage 2 on 2027-04-20) and across the
# year-end closure and Coming of Age Day (stage 2 on 2027-12-10). Nothing
# fires a minute before the deadline ends; the operator is reminded and
# staff told (rules/: reminders.investigation and .fix) right after.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

# Case 1: stage 2 on Tuesday 2027-04-20.
echo 'XSS.' | report r1
run_at 2027-04-19T10:00:00+09:00
A=IPA#00000001
tap_ok "case 1 gets its stage 2 by staff command" do_at 2027-04-20T10:00:00+09:00 \
	"accept $A web" "set $A url https://shop.example.jp/" \
	"party $A operator sec@example.jp key 1111111111111111111111111111111111111111" \
	"send $A stage2"
tap_is "20 business days over Golden Week end on 2027-05-24" "$(due $A investigation)" 2027-05-24
tap_is "3 months end on 2027-07-20" "$(due $A fix)" 2027-07-20
run_at 2027-04-28T10:00:00+09:00
tap_is "the first-reply reminder went after 5 business days" "$(notices $A reminder-first-reply)" 1
run_at 2027-05-24T23:59:00+09:00
tap_is "no investigation reminder on the last day" "$(notices $A reminder-investigation)" 0
run_at 2027-05-25T00:00:30+09:00
tap_is "the reminder goes just after the deadline" "$(notices $A reminder-investigation)" 1
tap_is "and staff are told (rules: first_reply.staff is false)" "$(attention $A overdue)" 1
ctl cases --overdue --now 2027-05-25T12:00:00+09:00
tap_like "cases --overdue lists it after the reminder fired" "$out" "^$A	web	detail-sent"
ctl cases --overdue --now 2027-04-26T12:00:00+09:00
tap_is "and not before any deadline passed" "$out" ""
run_at 2027-07-20T12:00:00+09:00
tap_is "no fix reminder on the last day of 3 months" "$(notices $A reminder-fix)" 0
run_at 2027-07-21T09:00:00+09:00
tap_is "the fix reminder the day after" "$(notices $A reminder-fix)" 1
run_at 2027-07-22T09:00:00+09:00
tap_is "each reminder goes once" "$(notices $A reminder-fix)" 1

# Case 2: stage 2 on Friday 2027-12-10.
echo 'XSS.' | report r2
run_at 2027-12-09T10:00:00+09:00
B=IPA#00000002
tap_ok "case 2 gets its stage 2" do_at 2027-12-10T10:00:00+09:00 \
	"accept $B web" "set $B url https://www.example.org/" \
	"party $B operator web@example.org" "send $B stage2"
tap_is "20 business days over the year-end closure end on 2028-01-14" \
	"$(due $B investigation)" 2028-01-14
tap_is "3 months end on 2028-03-10" "$(due $B fix)" 2028-03-10

# Pausing stops the clocks; resuming moves each deadline by the pause.
tap_ok "pause case 2 for a week" do_at 2027-12-13T10:00:00+09:00 \
	"pause $B reason \"operator asked for time\""
run_at 2028-01-15T10:00:00+09:00
tap_is "a paused case sends no reminder" "$(notices $B reminder-investigation)" 0
tap_ok "resume it" do_at 2027-12-20T10:00:00+09:00 "resume $B"
tap_is "the investigation deadline moved by the 7 days paused" \
	"$(due $B investigation)" 2028-01-21
tap_ok "extend the fix clock by a month with a reason" do_at 2027-12-20T11:00:00+09:00 \
	"extend $B fix 1M reason \"major rework\""
tap_is "the fix deadline is a month later" "$(due $B fix)" 2028-04-17
ctl timeline $B
tap_like "the extension and its reason are in the timeline" "$out" 'fix clock extended by 1M .*major rework'
tap_done
