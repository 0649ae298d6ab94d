#!/bin/sh
# purge.t - the discoverer's personal data (name, addresses, the report
# mail, the notices sent to them) is destroyed at the end of its retention
# unless a legal hold keeps it, and is then gone from the files: a unique
# string is found in the store and spool files before and nowhere after.
# todokectl purge --dry-run shows what would go; todokectl purge destroys
# it at once; the processor does the same at its tick. What statistics
# need stays; the event log says what happened without the data.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
opts="$opts -o outbound.sendmail=$TOP_SRCDIR/tests/lib/sendmail-capture"
A=IPA#00000001 B=IPA#00000002

# Strings found nowhere else: one per discoverer.
U1=qzv$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
U2=qzw$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
files_with() { # string: the state files that hold it, relative, sorted
	grep -rlaF "$1" "$state" | sed "s|^$state/||" | sort | tr '\n' ' '
}

for n in 1 2; do
	eval "u=\$U$n"
	mail_to "r$n" vuln-info@localhost "Hanako $u <$u@discoverer.example>" 'report' <<EOF
The login form of https://www.example.jp/ is open to SQL injection.
Reported by $u, who found it on a Sunday.
EOF
	feed "r$n" vuln-info@localhost "$u@discoverer.example" || echo "not ok - feeding r$n"
done
run_at 2027-03-01T10:00:00+09:00
tap_ok "the discoverer's postal address" do_at 2027-03-01T11:00:00+09:00 \
	"party $A discoverer $U1@discoverer.example postal \"1-2-3 $U1-cho\""
tap_ok "both reports not accepted, case 2 under a legal hold" \
	do_at 2027-03-02T10:00:00+09:00 "reject $A c" "reject $B c" "hold $B"
run_at 2027-03-02T10:05:00+09:00
tap_is "the acknowledgement and the non-acceptance notice went to discoverer 1" \
	"$(grep -l "To: $U1@discoverer.example" "$TDK_CAPTURE_DIR"/*.eml | wc -l)" 2
tap_is "personal data is kept 30 days after the non-acceptance" "$(due $A retention)" 2027-04-01

# ------------------------------------------------------------ before
tap_is "before: discoverer 1 is in the personal data store, the case store (notices) and the spool" \
	"$(files_with "$U1")" "spool/data.mdb store/data.mdb store/pii/data.mdb "
tap_like "before: so is discoverer 2" "$(files_with "$U2")" "store/pii/data.mdb"

# ---------------------------------------------------------- dry runs
ctl purge --dry-run --now 2027-04-01T12:00:00+09:00
tap_is "on its last day nothing is due; the held case is listed as kept" "$out" \
"IPA#00000002  ended 2027-03-02T10:00:00+09:00  retention until 2027-04-01T23:59:59+09:00  kept (legal hold): name, mail address, report mail ($(wc -c <"$tap_tmp/r2.eml" | tr -d ' ') bytes)
0 cases due, 1 kept by a legal hold; nothing destroyed (--dry-run)"
ctl purge --dry-run --now 2027-04-02T00:00:00+09:00
tap_like "the day after: case 1 would go, with what kind of data" "$out" \
	"^IPA#00000001  ended 2027-03-02T10:00:00\+09:00  retention until 2027-04-01T23:59:59\+09:00  would destroy: name, mail address, postal address, report mail \([0-9]+ bytes\)$"
tap_like "and the summary" "$out" "1 case due, 1 kept by a legal hold; nothing destroyed \(--dry-run\)"
tap_unlike "the dry run names no personal data" "$out" "$U1|$U2"
tap_is "a dry run destroys nothing" "$(files_with "$U1")" "spool/data.mdb store/data.mdb store/pii/data.mdb "
tap_is "and records nothing" "$(case_field $A .pii_destroyed)" null
ctl purge --frobnicate
tap_is "an unknown option is a usage error" "$rc:$err" \
	"2:todokectl: usage: purge [--dry-run] [--now ISO]"

# ------------------------------------------------------------- purge
ctl purge --now 2027-04-02T00:00:00+09:00
tap_like "purge destroys case 1's personal data" "$out" "^IPA#00000001  .*  destroyed: name, mail address, postal address, report mail"
tap_like "and says how many" "$out" "1 case destroyed, 1 kept by a legal hold$"
tap_is "after: discoverer 1 is in no file of the state directory" "$(files_with "$U1")" ""
tap_is "after: the held discoverer 2 is still in the personal data store and the notices" \
	"$(files_with "$U2")" "store/data.mdb store/pii/data.mdb "
ctl case $A --pii
tap_unlike "todokectl case --pii shows none of it" "$out" "$U1"
ctl timeline $A
tap_like "the event log records the destruction, in these words" "$out" \
	"	purge	personal-data-destroyed	not-accepted	the discoverer's name, addresses, phone number and report mail were destroyed; 2 notices to the discoverer kept without address and text"
tap_unlike "without the data" "$out" "$U1"
tap_is "the case records when" "$(case_field $A .pii_destroyed)" 2027-04-02T00:00:00+09:00
# What the statistics need stays.
tap_is "state stays" "$(case_field $A .state_name)" not-accepted
tap_is "reason code stays" "$(case_field $A .reason_code)" c
tap_is "received date stays" "$(case_field $A .received)" 2027-03-01T10:00:00+09:00
tap_is "the notice intents stay" \
	"$("$todokectl" $opts outbox --json | jq -r --arg c $A '[.[] | select(.case == $c) | .notice + ":" + .state] | join(" ")')" \
	"acknowledgement:sent staff-notice:sent non-acceptance:sent"
tap_is "only the staff notice still names its recipient" \
	"$("$todokectl" $opts outbox --json | jq -r --arg c $A '[.[] | select(.case == $c and .recipient != null) | .audience] | join(" ")')" staff
ctl purge --dry-run --now 2027-04-03T10:00:00+09:00
tap_is "purged once: not listed again" "$(printf '%s\n' "$out" | grep -c '^IPA#00000001')" 0

# ---------------------------------------------- the processor's tick
tap_ok "the legal hold on case 2 is released" do_at 2027-04-05T10:00:00+09:00 "release $B"
run_at 2027-04-05T10:00:01+09:00
tap_is "the processor's tick destroys case 2's personal data" \
	"$(case_field $B .pii_destroyed)" 2027-04-05T10:00:01+09:00
tap_is "and discoverer 2 is gone from every file too" "$(files_with "$U2")" ""
tap_like "the processor logs the overwriting" "$(cat "$tap_tmp/run.out")" \
	"personal data destroyed: [0-9]+ free pages of the case store and [0-9]+ of the spool overwritten"
ctl check
tap_is "the store is sound after the scrubs (todokectl check)" "$rc" 0

tap_done
