#!/bin/sh
# calendar.t - `todokectl calendar`: output, exit status and bad input.
# Expected dates are counted by hand from the 2026 calendar (see comments).
. "$TOP_SRCDIR/tests/integration/tap.sh"

ctl() { "$TOP_BUILDDIR/processor/todokectl" -o "paths.rules_dir=$TOP_SRCDIR/rules" "$@"; }
tab=$(printf '\t')

# 2026: 18 national holidays (including the 5/6 substitute and the 9/22
# citizens' holiday), plus the closure days 1/2, 1/3, 12/29, 12/30, 12/31
# (1/1 is listed once, as a holiday).
tap_run ctl calendar holidays 2026
tap_is "holidays 2026 exits 0" "$rc" 0
tap_is "holidays 2026 lists 23 days" "$(printf '%s\n' "$out" | wc -l)" 23
tap_like "the citizens' holiday of 2026-09-22 is listed" "$out" "^2026-09-22${tab}国民の休日${tab}"
tap_like "the substitute holiday of 2026-05-06 is listed" "$out" "^2026-05-06${tab}振替休日${tab}"
tap_like "the year-end closure is listed" "$out" "^2026-12-30${tab}年末年始休業${tab}Year-end and New Year closure$"
tap_unlike "an ordinary day is not listed" "$out" "^2026-09-24"

tap_run ctl calendar holidays 2026 --json
tap_like "holidays --json gives JSON objects" "$out" '"date" : "2026-09-22"'

tap_run ctl calendar is-business-day 2026-09-22
tap_is "2026-09-22 is not a business day (status 1)" "$rc" 1
tap_like "because it is a holiday" "$out" "^no${tab}holiday${tab}国民の休日"
tap_run ctl calendar is-business-day 2026-09-24
tap_is "2026-09-24 is a business day (status 0)" "$rc" 0
tap_is "and says yes" "$out" "yes"
tap_run ctl calendar is-business-day 2026-11-22
tap_is "a Sunday is a weekend" "$out" "no${tab}weekend"
tap_run ctl calendar is-business-day 2026-12-30
tap_like "2026-12-30 is an office closure" "$out" "^no${tab}office closure${tab}年末年始休業"
tap_run ctl calendar is-business-day 2026-09-22 --json
tap_like "is-business-day --json" "$out" '"business_day" : false'

# From Fri 2026-09-18: 9/19-9/23 are a weekend and three holidays; 10/12 is
# Sports Day. Business days 1..20: 9/24 9/25 9/28 9/29 9/30 10/1 10/2 10/5
# 10/6 10/7 10/8 10/9 10/13 10/14 10/15 10/16 10/19 10/20 10/21 10/22.
tap_run ctl calendar add 2026-09-18T10:00:00+09:00 20bd
tap_is "20bd from 2026-09-18 ends 2026-10-22 23:59:59 JST" "$out" "2026-10-22T23:59:59+09:00"
tap_run ctl calendar add 2026-09-18T01:00:00Z 20bd
tap_is "a UTC start is counted on its Tokyo date" "$out" "2026-10-22T23:59:59+09:00"
tap_run ctl calendar add 2026-09-18T10:00:00+09:00 3M
tap_is "3M from 2026-09-18" "$out" "2026-12-18T23:59:59+09:00"
tap_run ctl calendar add 2026-11-30T12:00:00+09:00 3M
tap_is "11-30 + 3M clamps to the end of February" "$out" "2027-02-28T23:59:59+09:00"
# From Fri 2026-12-25: 12/28 is the only business day before the closure
# (12/29-1/3); then 1/4..1/8 (5), 1/12 (1/11 is Coming of Age Day) ...
tap_run ctl calendar add 2026-12-25T18:00:00+09:00 3bd
tap_is "3bd across the year-end closure" "$out" "2027-01-05T23:59:59+09:00"
tap_run ctl -o calendar.timezone=UTC calendar add 2026-09-18T10:00:00+09:00 10d
tap_is "the configured time zone is used" "$out" "2026-09-28T23:59:59+00:00"
tap_run ctl calendar add 2026-09-18T10:00:00+09:00 20bd --json
tap_like "add --json" "$out" '"deadline" : "2026-10-22T23:59:59\+09:00"'

# 2026: 365 days, 104 on weekends -> 261 weekdays; minus 17 weekday
# holidays and 4 weekday closure days (1/2, 12/29, 12/30, 12/31) = 240.
tap_run ctl calendar between 2026-01-01 2026-12-31
tap_is "2026 has 240 business days" "$out" 240
tap_run ctl calendar between 2026-09-18 2026-09-24
tap_is "between counts both ends" "$out" 2

tap_run ctl calendar next-business-day 2026-05-01
tap_is "next business day after 2026-05-01 is 2026-05-07" "$out" 2026-05-07

# Bad input: one line on stderr, status 2.
bad() { # description expected-message-regex args...
	local desc=$1 want=$2
	shift 2
	tap_run ctl calendar "$@"
	tap_is "$desc: status 2" "$rc" 2
	tap_like "$desc: message" "$err" "$want"
	tap_is "$desc: one line" "$(printf '%s\n' "$err" | wc -l)" 1
}
bad "unknown unit" "unknown unit" add 2026-09-18T10:00:00+09:00 20x
bad "zero period" "" add 2026-09-18T10:00:00+09:00 0bd
bad "negative period" "" add 2026-09-18T10:00:00+09:00 -3d
bad "instant without offset" "" add 2026-09-18T10:00:00 20bd
bad "result past 2099" "outside the calendar" add 2099-12-01T10:00:00+09:00 3M
bad "date before 1955" "outside the calendar" is-business-day 1954-12-31
bad "impossible date" "outside the calendar|not a date" is-business-day 2026-02-30
bad "malformed date" "not a date" is-business-day 2026/09/22
bad "reversed range" "is after" between 2026-12-31 2026-01-01
bad "year out of range" "must be 1955-2099" holidays 2100
bad "unknown subcommand" "unknown calendar command" leap-years

mkdir "$tap_tmp/rules"
sed 's/fix = "3M";/fix = "3 months";/' "$TOP_SRCDIR/rules/partnership.conf" >"$tap_tmp/rules/partnership.conf"
line=$(grep -n 'fix = "3 months";' "$tap_tmp/rules/partnership.conf" | cut -d: -f1)
tap_run "$TOP_BUILDDIR/processor/todokectl" -o "paths.rules_dir=$tap_tmp/rules" calendar between 2026-01-01 2026-01-31
tap_is "a malformed rules file: status 2" "$rc" 2
tap_like "names file and line" "$err" "$tap_tmp/rules/partnership.conf:$line: setting 'web.fix'"

tap_done
