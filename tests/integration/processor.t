#!/bin/sh
# processor.t - the daemon around the state machine: an entry applied
# once even when the spool comes back after a crash between the store
# commit and the spool delete; a full store keeps the entry and a later
# run applies it; a changed business calendar moves pending deadlines at
# start; a report the milter could not decrypt is decrypted on retry;
# a damaged case record is quarantined without stopping anything;
# HUP reloads and TERM stops cleanly; bad --now is refused; the same mail
# spooled twice is applied once.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

report_padded() { # name size-of-padding
	{
		echo "XSS at https://www.example.jp/"
		head -c "$2" /dev/zero | tr '\0' 'x' | fold -w 76
	} | report "$1"
}

# ---- exactly once across a lost spool delete
echo XSS | report r1
cp -a "$state/spool" "$tap_tmp/spool.before"
run_at 2027-03-01T10:00:00+09:00
tap_is "the report made case 1" "$(case_field IPA#00000001 .state_name)" received
events=$(case_field IPA#00000001 .n_events)
rm -rf "$state/spool" && cp -a "$tap_tmp/spool.before" "$state/spool"
run_at 2027-03-01T10:05:00+09:00
tap_like "the returned entry is recognised as consumed" "$(cat "$tap_tmp/run.out")" 'skipped 1'
tap_is "it is not applied twice" "$(case_field IPA#00000001 .n_events)" "$events"
ctl cases
tap_is "and no second case appears" "$(printf '%s\n' "$out" | wc -l)" 1
ctl spool
tap_is "the spool is empty again" "$out" ""

# ---- a full store keeps the entry
report_padded big 2000000
# shellcheck disable=SC2086
"$processor" $opts -o processor.store_map_size=1048576 -f --once \
	--now 2027-03-02T10:00:00+09:00 >"$tap_tmp/full.out" 2>&1
tap_is "a store too small for the mail: the run fails" "$?" 1
tap_like "and says the store is full" "$(cat "$tap_tmp/full.out")" 'full'
ctl spool
tap_like "the entry is still in the spool" "$out" 'report'
run_at 2027-03-02T10:10:00+09:00
tap_is "with room again, it is applied" "$(case_field IPA#00000002 .state_name)" received
ctl spool
tap_is "and leaves the spool" "$out" ""

# ---- a calendar change moves pending deadlines
cp -r "$TOP_SRCDIR/rules" "$tap_tmp/rules"
opts="$opts -o paths.rules_dir=$tap_tmp/rules"
tap_ok "stage 2 for case 1" do_at 2027-03-03T10:00:00+09:00 \
	"accept IPA#00000001 web" "party IPA#00000001 operator sec@example.jp" \
	"send IPA#00000001 stage2"
tap_is "20 business days from 2027-03-03" "$(due IPA#00000001 investigation)" 2027-04-01
sed -i 's/^  closure_dates = ( );/  closure_dates = ( { date = "2027-03-10"; name_ja = "臨時休業"; name_en = "Office closed"; } );/' \
	"$tap_tmp/rules/partnership.conf"
run_at 2027-03-04T10:00:00+09:00
tap_like "the processor notices the new calendar at start" "$(cat "$tap_tmp/run.out")" \
	'calendar changed: [0-9]+ pending deadlines checked, [1-9][0-9]* moved'
tap_is "the deadline moved by the closed day" "$(due IPA#00000001 investigation)" 2027-04-02
tap_is "a 3-month deadline does not move" "$(due IPA#00000001 fix)" 2027-06-03

# ---- a damaged case record is set aside, the mail still applied
if command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null; then
	mdb_dump -s cases "$state/store" |
		awk 'prev == " 0000000000000002" { print " 01ffff"; prev = ""; next }
		     { print; prev = $0 }' >"$tap_tmp/cases.dump"
	mdb_load -s cases -f "$tap_tmp/cases.dump" "$state/store" 2>/dev/null
	ctl case IPA#00000002
	tap_like "todokectl reports the damaged record" "$err" 'does not decode'
	mail_to damaged vuln-contact@localhost 'x@example.jp' 'Re: [IPA#00000002] more' <<'EOF2'
More details.
EOF2
	feed damaged vuln-contact@localhost x@example.jp
	run_at 2027-03-04T11:00:00+09:00
	tap_like "the processor quarantines the record" "$(cat "$tap_tmp/run.out")" \
		'case 2 does not decode: its record is quarantined'
	tap_is "and applies the mail as for an unknown case" \
		"$(case_field IPA#00000003 .state_name)" received
	tap_is "staff are told" "$(attention IPA#00000003 unknown-case)" 1
	tap_is "the daemon is still fine: case 1 reads" "$(case_field IPA#00000001 .state_name)" detail-sent
else
	echo "Bail out! mdb_dump and mdb_load (lmdb-utils) are missing"
	exit 1
fi

ctl check
tap_is "todokectl check finds a problem" "$rc" 1
tap_like "the quarantined record, in words" "$out" 'PROBLEM  the case store holds 1 quarantined records'
tap_like "the cases and the timer index agree" "$out" 'ok       case store: 2 cases, 5 running clocks, 5 armed timers'
tap_like "the outbox and its indexes agree" "$out" 'ok       outbox: 11 notices, 10 queued or deferred; its indexes agree'
# A copy of the store whose pending index lists a notice that is not there.
cp -a "$state" "$tap_tmp/state-stray"
{ mdb_dump -s outbox_pending "$state/store" | sed '/^DATA=END/d'
  printf ' 0000000000000063\n 71000000000000000000\nDATA=END\n'; } >"$tap_tmp/pending.dump"
mdb_load -s outbox_pending -f "$tap_tmp/pending.dump" "$tap_tmp/state-stray/store" 2>/dev/null
tap_run "$todokectl" $opts -o "paths.state_dir=$tap_tmp/state-stray" check
tap_like "a stray entry of the pending index, in words" "$out" \
	"PROBLEM  the outbox's pending index has an entry for notice 99 that does not exist or does not decode"
tap_unlike "and the outbox is not said to be fine" "$out" 'ok       outbox'
tap_like "the desk's secret key is usable" "$out" 'ok       desk secret key [0-9A-F]{40}'

# ---- a report the milter could not decrypt is decrypted by the processor
desk_home=$GNUPGHOME
gnupg_new_home desk-cv25519.pub discoverer.pub >/dev/null 2>&1   # no secret key
# shellcheck disable=SC2086
"$milter" $opts -o "gpg.home=$GNUPGHOME" -t "$TOP_SRCDIR/tests/corpus/crypto-pgpmime-encrypted-report.eml" \
	--rcpt vuln-info@localhost --from discoverer@example.org >"$tap_tmp/deferred.json" 2>&1
tap_is "a milter whose gpg-agent has no secret key spools the report as deferred" \
	"$(jq -r .entry.crypto "$tap_tmp/deferred.json")" decrypt-deferred
GNUPGHOME=$desk_home
export GNUPGHOME
run_at 2027-03-04T12:00:00+09:00
tap_like "the processor decrypts it on retry" "$(cat "$tap_tmp/run.out")" 'decrypted on retry \(decrypted\)'
tap_is "and opens the case from the decrypted report" \
	"$("$todokectl" $opts timeline IPA#00000004 | head -1 | cut -f5)" 'report received (decrypted)'
tap_is "no decryption failure is reported to staff" "$(attention IPA#00000004 decrypt-failed)" 0
gnupg_new_home desk-cv25519.pub >/dev/null 2>&1
nokey_home=$GNUPGHOME
GNUPGHOME=$desk_home
export GNUPGHOME
# The same report as another mail: one Message-ID is applied once.
sed 's/^Message-I[Dd]: <\(.*\)>/Message-ID: <nokey.\1>/' \
	"$TOP_SRCDIR/tests/corpus/crypto-pgpmime-encrypted-report.eml" >"$tap_tmp/nokey.eml"
# shellcheck disable=SC2086
"$milter" $opts -o "gpg.home=$nokey_home" -t "$tap_tmp/nokey.eml" \
	--rcpt vuln-info@localhost --from discoverer@example.org >/dev/null 2>&1
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
later=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
# shellcheck disable=SC2086
"$processor" $opts -o "gpg.home=$nokey_home" -f --once --now "$now" >"$tap_tmp/retry.out" 2>&1
ctl spool
tap_like "while the retries last, the entry waits in the spool" "$out" 'decrypt-deferred'
# shellcheck disable=SC2086
"$processor" $opts -o "gpg.home=$nokey_home" -o processor.decrypt_retry_hours=1 \
	-f --once --now "$later" >"$tap_tmp/retry.out" 2>&1
tap_like "after processor.decrypt_retry_hours it is applied as it is" \
	"$(cat "$tap_tmp/retry.out")" 'still not decrypted after 1 hours; applied as it is'
tap_is "and staff are told it could not be decrypted" "$(attention IPA#00000005 decrypt-failed)" 1

# ---- HUP and TERM
# The daemon does not stay root: started as root it switches to
# processor.user (nobody here), which then owns the state and has a
# GnuPG home of its own.
deskhome=$GNUPGHOME
gnupg_new_home desk-cv25519 >/dev/null 2>&1 || echo "Bail out! a GnuPG home for nobody"
nobodyhome=$GNUPGHOME
GNUPGHOME=$deskhome
export GNUPGHOME
chown -R nobody "$state" "$nobodyhome"
chmod 755 "$tap_tmp"
# shellcheck disable=SC2086
"$processor" $opts -f -o processor.poll_interval_ms=50 -o processor.user=nobody \
	-o "processor.gpg_home=$nobodyhome" >"$tap_tmp/daemon.out" 2>&1 &
pid=$!
echo XSS | report r3
for _i in $(seq 1 100); do
	[ "$(case_field IPA#00000006 .state_name 2>/dev/null)" = received ] && break
	sleep 0.1
done
tap_is "the running daemon applies new mail" "$(case_field IPA#00000006 .state_name)" received
kill -HUP $pid
for _i in $(seq 1 50); do
	grep -q reloaded "$tap_tmp/daemon.out" && break
	sleep 0.1
done
tap_like "HUP reloads the configuration and rules" "$(cat "$tap_tmp/daemon.out")" 'reloaded'
kill -TERM $pid
for _i in $(seq 1 50); do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
wait $pid
tap_is "TERM stops it with status 0" "$?" 0
tap_like "saying so" "$(tail -1 "$tap_tmp/daemon.out")" 'stopped'
runuser -u nobody -- env GNUPGHOME="$nobodyhome" gpgconf --kill gpg-agent >/dev/null 2>&1

# shellcheck disable=SC2086
tap_run "$processor" $opts --once --now 2027-13-01
tap_is "a bad --now is a usage error" "$rc" 2
tap_like "naming it" "$err" '\-\-now'
# ---- the same mail spooled twice (the milter died before the MTA heard
# its answer, and the client sent the mail again) is applied once
echo "XSS again" | report twice
feed twice vuln-info@localhost taro@discoverer.example
tap_is "the mail is in the spool twice" "$(ctl spool; printf '%s\n' "$out" | grep -c .)" 2
n_cases=$(ctl cases; printf '%s\n' "$out" | wc -l)
run_at 2027-03-20T10:10:00+09:00
tap_is "it opens one case" "$(ctl cases; printf '%s\n' "$out" | wc -l)" $((n_cases + 1))
tap_like "the second copy is consumed, not applied" "$(cat "$tap_tmp/run.out")" \
	'has the Message-ID and body of spool entry [0-9]+; consumed, not applied again'
ctl spool
tap_is "both copies leave the spool" "$out" ""
# Another mail that reuses the Message-ID (some mail software does) is
# not a copy: it is applied.
sed 's/^XSS again$/SQL injection at https:\/\/shop.example.jp\//' "$tap_tmp/twice.eml" >"$tap_tmp/reused.eml"
tap_is "the reused Message-ID is the same" "$(grep '^Message-ID' "$tap_tmp/reused.eml")" "$(grep '^Message-ID' "$tap_tmp/twice.eml")"
feed reused vuln-info@localhost taro@discoverer.example
run_at 2027-03-20T10:20:00+09:00
tap_is "a different mail under a used Message-ID opens its own case" \
	"$(ctl cases; printf '%s\n' "$out" | wc -l)" $((n_cases + 2))

tap_done
