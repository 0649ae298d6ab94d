#!/bin/bash
# crash.t - no mail lost, none applied twice, while the daemons are killed.
#
# A private Postfix on loopback with todoke-milter in smtpd_milters; a
# todoke-processor daemon delivering through the capture sendmail. A
# driver (driver.py) sends STRESS_MESSAGES mails, four at a time:
#   phase 1  reports from discoverer N to the report address (40 %);
#   phase 2  replies of those discoverers on their report's thread (30 %),
#            signed staff commands "note CASE ..." to the control address
#            (15 %) and bounces to vuln-bounce+TOKEN@ of acknowledgements
#            the desk sent in phase 1 (15 %).
# All the while the processor is killed with SIGKILL at random moments
# STRESS_PROCESSOR_KILLS times and the milter STRESS_MILTER_KILLS times,
# each restarted at once. Then, with the daemons left alone to finish:
#   - every mail is accepted by Postfix (after 4xx answers while the
#     milter was down) and its Message-ID is in exactly one case event
#     of the right kind: one case per report, one reply, one command,
#     one bounce;
#   - each report has exactly one acknowledgement and each command mail
#     exactly one transcript, every one sent;
#   - the capture sendmail took each notice once, or twice with the same
#     Message-ID (the documented resend after a crash), never more;
#   - todokectl check passes.
# The figures (and when each kill came: phase, mail being sent or not)
# go to stdout as "# stress:" lines. Needs root (Postfix).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to run a private Postfix"
	exit 0
fi

. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"
. "$TOP_SRCDIR/tests/lib/staffmail.sh"
. "$TOP_SRCDIR/tests/lib/postfix.sh"

MESSAGES=${STRESS_MESSAGES:-200}
PROCESSOR_KILLS=${STRESS_PROCESSOR_KILLS:-5}
MILTER_KILLS=${STRESS_MILTER_KILLS:-2}
milter_bin=$TOP_BUILDDIR/milter/todoke-milter
processor_bin=$TOP_BUILDDIR/processor/todoke-processor
ctl_bin=$TOP_BUILDDIR/processor/todokectl
ALICE=81291E614864BD4B40862A479F3A85E79FA9BE53
W= MGH= killer_pid=

bail() {
	echo "Bail out! $*"
	[ -n "$W" ] && [ -f "$W/milter.log" ] && sed 's/^/# milter: /' "$W/milter.log" | tail -20
	[ -n "$W" ] && [ -f "$W/processor.log" ] && sed 's/^/# processor: /' "$W/processor.log" | tail -20
	exit 1
}

for tool in smtp-sink postfix gpg jq setpriv python3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed"
done

stop_daemon() { # pidfile: TERM, and KILL after 10 s
	local pid t=100
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ "$t" -gt 0 ]; do
		sleep 0.1
		t=$((t - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$1"
}

cleanup() {
	[ -n "$killer_pid" ] && kill "$killer_pid" 2>/dev/null && wait "$killer_pid" 2>/dev/null
	if [ -n "$W" ]; then
		stop_daemon "$W/milter.pid"
		stop_daemon "$W/processor.pid"
	fi
	[ -n "$MGH" ] && [ -d "$MGH" ] &&
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env GNUPGHOME="$MGH" gpgconf --kill gpg-agent >/dev/null 2>&1
	postfix_cleanup
	gnupg_cleanup
	[ -n "$W" ] && [ -z "${STRESS_KEEP:-}" ] && rm -rf "$W"
	rm -rf "$tap_tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ------------------------------------------------------------------ setup
W=$(mktemp -d /tmp/tdk-stress.XXXXXX) || bail "mktemp"
chmod 755 "$W"
gnupg_new_home desk-cv25519 || bail "gnupg home for the desk"
MGH=$GNUPGHOME
staffmail_setup "$MGH" >/dev/null 2>&1 || bail "signing home"
GNUPGHOME=$MGH gpgconf --kill gpg-agent
chown -R nobody:nogroup "$MGH"
mkdir -p "$W/state" "$W/sent" "$W/mail" && chown nobody:nogroup "$W/state" "$W/sent" ||
	bail "state directory"
chmod 750 "$W/state"
cp -r "$TOP_SRCDIR/rules" "$W/rules"
sed -i 's/recipient_daily_cap = [0-9]*;/recipient_daily_cap = 10000;/' \
	"$W/rules/partnership.conf"

milter_port=$(postfix_free_port) || bail "no free port"
cat >"$W/todoke.conf" <<EOF
paths: {
  state_dir = "$W/state";
  rules_dir = "$W/rules";
};
gpg: {
  home = "$MGH";
  time_budget_ms = 60000;
};
milter: {
  socket = "inet:$milter_port@127.0.0.1";
  user = "nobody";
  after_capture = "discard";
};
spool: {
  map_size = 268435456;
};
processor: {
  store_map_size = 268435456;
  poll_interval_ms = 100;
};
outbound: {
  sendmail = "$TOP_SRCDIR/tests/lib/sendmail-capture";
};
staff: {
  keys = ( { fingerprint = "$ALICE"; address = "alice@desk.example"; role = "lead"; } );
  # The burst of command mail here is not a flood: every one is answered.
  transcripts_per_hour = 10000;
};
EOF
export TDK_CAPTURE_DIR=$W/sent

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
ctl() { as_nobody "$ctl_bin" -c "$W/todoke.conf" "$@"; }

start_milter() {
	"$milter_bin" -f -c "$W/todoke.conf" >>"$W/milter.log" 2>&1 &
	echo $! >"$W/milter.pid"
}
start_processor() {
	# setpriv itself, not a function: $! must be the processor's pid.
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$processor_bin" -f -c "$W/todoke.conf" >>"$W/processor.log" 2>&1 &
	echo $! >"$W/processor.pid"
}

start_milter
postfix_wait_port "$milter_port" 30 || bail "todoke-milter does not listen"
start_processor

postfix_setup || bail "postfix_setup"
postfix_milter "inet:127.0.0.1:$milter_port"
postfix_conf "default_transport = discard:" "milter_connect_timeout = 5s" \
	"smtpd_client_connection_count_limit = 0" "smtpd_client_message_rate_limit = 0"
postfix_start || bail "postfix_start"

# ---------------------------------------------------------------- helpers
n_reports=$((MESSAGES * 40 / 100))
n_commands=$((MESSAGES * 15 / 100))
n_bounces=$((MESSAGES * 15 / 100))
n_replies=$((MESSAGES - n_reports - n_commands - n_bounces))
case_of() { printf 'IPA#%08d' "$1"; }

# The killer: SIGKILL to the processor or the milter at random moments,
# each restarted at once, until both counts are reached. $W/phase says
# how far the mail is: in phase 1 (the reports, 40 % of the mail) it
# uses 40 % of each count, in phase 2 the rest, in phase 3 (all sent)
# whatever is left. The milter is killed only while the driver sends
# ($W/sending exists) or in phase 3, every other time, so that its
# deaths meet the traffic.
killer() {
	local p=0 m=0 i=0 ms phase pq mq sending
	while [ "$p" -lt "$PROCESSOR_KILLS" ] || [ "$m" -lt "$MILTER_KILLS" ]; do
		ms=$((200 + RANDOM % 1300))
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		i=$((i + 1))
		phase=$(cat "$W/phase")
		pq=$PROCESSOR_KILLS mq=$MILTER_KILLS
		if [ "$phase" = 1 ]; then
			pq=$((PROCESSOR_KILLS * 2 / 5)) mq=$((MILTER_KILLS * 2 / 5))
		fi
		sending=no
		[ -f "$W/sending" ] && sending=yes
		if [ "$m" -lt "$mq" ] && { [ "$sending" = yes ] || [ "$phase" = 3 ]; } &&
			{ [ $((i % 2)) -eq 1 ] || [ "$p" -ge "$pq" ]; }; then
			kill -KILL "$(cat "$W/milter.pid")" 2>/dev/null
			m=$((m + 1))
			echo "milter $m $phase $sending" >>"$W/kills"
			start_milter
			postfix_wait_port "$milter_port" 30
		elif [ "$p" -lt "$pq" ]; then
			kill -KILL "$(cat "$W/processor.pid")" 2>/dev/null
			p=$((p + 1))
			echo "processor $p $phase $sending" >>"$W/kills"
			start_processor
		fi
	done
}

# Until the spool is empty (and, with "all", no notice waits to be
# handed to sendmail), or the seconds are over.
drain() { # seconds [all]
	local t=$(($1 * 2))
	while [ "$t" -gt 0 ]; do
		if [ "$(ctl spool --json 2>/dev/null | jq length)" = 0 ] &&
			{ [ "${2:-}" != all ] ||
				[ "$(ctl outbox --json 2>/dev/null | jq '[.[] | select(.state == "queued" or .state == "deferred")] | length')" = 0 ]; }; then
			return 0
		fi
		sleep 0.5
		t=$((t - 1))
	done
	return 1
}
# Until COUNT acknowledgements are sent; their ids and cases to $W/acks.
acks_sent() { # count seconds
	local t=$(($2 * 2))
	while [ "$t" -gt 0 ]; do
		ctl outbox --json 2>/dev/null |
			jq -r '.[] | select(.notice == "acknowledgement" and .state == "sent") | "\(.id)\t\(.case)"' |
			head -n "$1" >"$W/acks"
		[ "$(grep -c . "$W/acks")" -eq "$1" ] && return 0
		sleep 0.5
		t=$((t - 1))
	done
	return 1
}

# ------------------------------------------------------------ the mails
: >"$W/plan1"
for i in $(seq 1 "$n_reports"); do
	cat >"$W/mail/report-$i.eml" <<EOF
From: Discoverer $i <d$i@discoverer.example>
To: vuln-info@localhost
Subject: Vulnerability report $i
Date: $(date -R)
Message-ID: <report-$i.$$@discoverer.example>

XSS in https://www$i.example.co.jp/search?q=
EOF
	printf '%s\t%s\t%s\n' "$W/mail/report-$i.eml" "d$i@discoverer.example" \
		vuln-info@localhost >>"$W/plan1"
done

: >"$W/plan2"
for i in $(seq 1 "$n_replies"); do
	k=$(( (i - 1) % n_reports + 1 ))
	cat >"$W/mail/reply-$i.eml" <<EOF
From: Discoverer $k <d$k@discoverer.example>
To: vuln-contact@localhost
Subject: Re: Vulnerability report $k
Date: $(date -R)
Message-ID: <reply-$i.$$@discoverer.example>
In-Reply-To: <report-$k.$$@discoverer.example>

More details, number $i.
EOF
	printf '%s\t%s\t%s\n' "$W/mail/reply-$i.eml" "d$k@discoverer.example" \
		vuln-contact@localhost >>"$W/plan2"
done
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for i in $(seq 1 "$n_commands"); do
	k=$(( (i - 1) % n_reports + 1 ))
	printf 'note %s "stress note %d"\n' "$(case_of "$k")" "$i" |
		staff_clearsigned "command-$i" 'Alice <alice@desk.example>' \
			alice@desk.example "$now" commands || bail "cannot sign command $i"
	mv "$tap_tmp/command-$i.eml" "$W/mail/"
	printf '%s\t%s\t%s\n' "$W/mail/command-$i.eml" alice@desk.example \
		vuln-control@localhost >>"$W/plan2"
done

# ------------------------------------------------------------- phase 1
echo 1 >"$W/phase"
killer &
killer_pid=$!
start=$(date +%s)
touch "$W/sending"
python3 "$TOP_SRCDIR/tests/stress/driver.py" "127.0.0.1:$PF_PORT" "$W/plan1" \
	"$W/results1" 4 || bail "driver failed"
rm -f "$W/sending"
# The replies and commands need the cases: the reports must be applied.
drain $((MESSAGES + 300)) || bail "phase 1 does not drain"

# The bounces: one to the VERP address of each of the first
# acknowledgements sent (the rest go out while phase 2 runs).
acks_sent "$n_bounces" $((MESSAGES + 300)) || bail "fewer acknowledgements sent than bounces"
i=0
while IFS="$(printf '\t')" read -r id case; do
	i=$((i + 1))
	cat >"$W/mail/bounce-$i.eml" <<EOF
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: vuln-bounce+n$id@localhost
Subject: Undelivered Mail Returned to Sender
Date: $(date -R)
Message-ID: <bounce-$i.$$@mx.example.com>

Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; somebody@discoverer.example
Action: failed
Status: 5.1.1
EOF
	printf '%s\t\t%s\n' "$W/mail/bounce-$i.eml" "vuln-bounce+n$id@localhost" >>"$W/plan2"
done <"$W/acks"
shuf "$W/plan2" -o "$W/plan2"

# ------------------------------------------------------------- phase 2
echo 2 >"$W/phase"
touch "$W/sending"
python3 "$TOP_SRCDIR/tests/stress/driver.py" "127.0.0.1:$PF_PORT" "$W/plan2" \
	"$W/results2" 4 || bail "driver failed"
rm -f "$W/sending"
echo 3 >"$W/phase"
sent_at=$(date +%s)
wait "$killer_pid"
killer_pid=
drain $((3 * MESSAGES + 300)) all || bail "phase 2 does not drain"
end=$(date +%s)

# --------------------------------------------------------------- checks
cat "$W/results1" "$W/results2" >"$W/results"
tap_is "the driver sent every mail" "$(grep -c . "$W/results")" "$MESSAGES"
tap_is "Postfix accepted every mail" \
	"$(awk -F '\t' '$2 == 250' "$W/results" | wc -l)" "$MESSAGES"
tempfails=$(awk -F '\t' '{ n += $3 - 1 } END { print n + 0 }' "$W/results")
tap_is "the processor was killed $PROCESSOR_KILLS times" \
	"$(grep -c '^processor' "$W/kills")" "$PROCESSOR_KILLS"
tap_is "the milter was killed $MILTER_KILLS times" \
	"$(grep -c '^milter' "$W/kills")" "$MILTER_KILLS"

n_cases=$(ctl cases --json | jq length)
tap_is "one case per report" "$n_cases" "$n_reports"
for k in $(seq 1 "$n_cases"); do
	ctl timeline "$k" --json | jq -c --arg c "$(case_of "$k")" '.[] | . + {case: $c}'
done >"$W/events"
# Message-IDs of the mails (without <>) against the events naming them.
awk -F '\t' '{ id = $1; gsub(/[<>]/, "", id); print id }' "$W/results" | sort >"$W/sent-ids"
jq -r 'select(.message_id != null and (.message_id | test("^<?todoke\\.") | not))
	| "\(.message_id | gsub("[<>]"; ""))\t\(.type)\t\(.case)"' "$W/events" |
	sort >"$W/applied"
# A command mail gives a "command" event and a "command-mail" one.
{
	awk -F '\t' '$2 != "command-mail" { print $1 }' "$W/applied" | uniq -d
	awk -F '\t' '$2 == "command-mail" { print $1 }' "$W/applied" | uniq -d
} >"$W/twice"
cut -f 1 "$W/applied" | sort -u | comm -23 "$W/sent-ids" - >"$W/lost"
tap_is "no mail is lost" "$(grep -c . "$W/lost")" 0
tap_is "no mail is applied twice" "$(grep -c . "$W/twice")" 0
kinds() { # prefix event
	grep "^$1-" "$W/applied" | awk -F '\t' -v e="$2" '$2 == e' | wc -l
}
tap_is "each report opened a case" "$(kinds report received)" "$n_reports"
tap_is "each reply is on its case" \
	"$(grep '^reply-' "$W/applied" | awk -F '\t' '$2 != "received"' | wc -l)" "$n_replies"
tap_is "each command is applied" "$(kinds command command)" "$n_commands"
tap_is "each bounce marks its notice" "$(kinds bounce bounce)" "$n_bounces"
# Reply i answers report (i - 1) % reports + 1, on that report's case.
awk -F '\t' -v reports="$n_reports" '
	$1 ~ /^report-/ && $2 == "received" { split($1, a, /[-.]/); case_of[a[2]] = $3 }
	$1 ~ /^reply-/ { split($1, a, /[-.]/); want[$1] = (a[2] - 1) % reports + 1; got[$1] = $3 }
	END { for (r in want) if (got[r] != case_of[want[r]]) print r, got[r] }' \
	"$W/applied" >"$W/misplaced"
tap_is "the replies landed on their reports' cases" "$(grep -c . "$W/misplaced")" 0

ctl outbox --json >"$W/outbox"
tap_is "one acknowledgement per report" \
	"$(jq '[.[] | select(.notice == "acknowledgement")] | length' "$W/outbox")" "$n_reports"
# A command mail the spool got twice (the milter died after its commit)
# is refused the second time as a replay, with a transcript saying so.
ctl commands --json >"$W/commands"
replays=$(jq .refused "$W/commands")
tap_is "every command mail is accepted once" "$(jq .accepted "$W/commands")" "$n_commands"
tap_is "one transcript per command mail, and per replay refused" \
	"$(jq '[.[] | select(.notice == "transcript")] | length' "$W/outbox")" \
	"$((n_commands + replays))"
tap_is "every notice went out (or bounced)" \
	"$(jq '[.[] | select(.state != "sent" and .state != "bounced")] | length' "$W/outbox")" 0
# What the capture sendmail took, by Message-ID.
for f in "$W"/sent/*.eml; do
	sed -n '/^$/q; s/^Message-I[Dd]: *//p' "$f"
done | sort | uniq -c | awk '{ print $1 }' | sort -n | uniq -c >"$W/copies"
n_intents=$(jq length "$W/outbox")
n_sent=$(awk '{ n += $1 * $2 } END { print n + 0 }' "$W/copies")
n_twice=$(awk '$2 == 2 { print $1 }' "$W/copies")
tap_is "every notice intent was handed to sendmail" \
	"$(awk '{ n += $1 } END { print n + 0 }' "$W/copies")" "$n_intents"
tap_is "none more than twice (the resend after a crash)" \
	"$(awk '$2 > 2 { n += $1 } END { print n + 0 }' "$W/copies")" 0
tap_ok "todokectl check passes" ctl check

echo "# stress: messages $MESSAGES (reports $n_reports, replies $n_replies," \
	"commands $n_commands, bounces $n_bounces); kills: processor" \
	"$(grep -c '^processor' "$W/kills"), milter $(grep -c '^milter' "$W/kills")" \
	"($(grep -c '^milter .* yes$' "$W/kills") while mail was sent);" \
	"4xx retries $tempfails"
echo "# stress: second copies in the spool: $(grep -c 'not applied again' "$W/processor.log")" \
	"mails, $replays command mails (refused as replays)"
echo "# stress: lost $(grep -c . "$W/lost"), applied twice $(grep -c . "$W/twice");" \
	"notices $n_intents, sendmail calls $n_sent, resent with the same Message-ID ${n_twice:-0}"
echo "# stress: sending $((sent_at - start)) s, until drained $((end - start)) s"
echo "# stress: kills (what, number, phase, mail being sent):" $(tr '\n' ';' <"$W/kills")
if [ "$tap_failures" -gt 0 ]; then
	head -n 5 "$W/lost" "$W/twice" | sed 's/^/# /'
	sed 's/^/# milter: /' "$W/milter.log" | grep -v ' info' | tail -20
	sed 's/^/# processor: /' "$W/processor.log" | grep -v ' info' | tail -20
fi
tap_done
