# e2e.sh - the prologue of the end-to-end tests: a private desk
# (tests/lib/desk.sh: Postfix on loopback, todoke-milter in it, the
# processor on a simulated clock, INSECURE test keys) and TAP checks of
# what it sent. Source it from bash after tests/integration/tap.sh.
#
#   desk_up                   make and start the desk (bail out on failure)
#   send_ok DESC NAME FROM TO FILE   swaks; a test that Postfix said 250
#   process ISO               the processor at the simulated instant ISO
#   state CASE                the case's state name
#   notice_ok CASE NOTICE AUDIENCE TO CRYPTO REGEX
#                             tests that the newest such notice was sent, is
#                             in the outbound Maildir addressed to TO, with
#                             [CASE] in its Subject, CRYPTO (encrypted or
#                             signed), a good signature by the desk key, and
#                             text matching REGEX once decrypted
#   count_notices CASE NOTICE how many such notices the outbox holds
#   attention_of CASE KIND    how many staff attention items of that kind
#   desk_done                 desk_settle, the end checks (below), then tap_done
#
# The end checks: Postfix's queue is empty, the intake spool is empty, the
# notices in the Maildirs are exactly those the outbox sent, each signed by
# the desk; every mail Postfix delivered to a desk address (from its log) was
# applied by the processor exactly once (from its log, by queue id), and
# every mail sent in with swaks to a desk address is among them, and each
# mail applied to a case is in the case's timeline under its Message-ID;
# and `todokectl check` finds nothing wrong.

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to run a private Postfix"
	exit 0
fi
. "$TOP_SRCDIR/tests/lib/desk.sh"

bail() {
	echo "Bail out! $*"
	if [ -n "${DESK:-}" ]; then
		tail -n 20 "$DESK/log/processor.log" "$DESK/log/milter.log" 2>/dev/null | sed 's/^/# /'
		tail -n 20 "$PF_MAILLOG" 2>/dev/null | sed 's/^/# maillog: /'
	fi
	exit 1
}

desk_up() {
	trap 'desk_cleanup; rm -rf "$tap_tmp"' EXIT
	trap 'exit 1' INT TERM HUP
	desk_setup >"$tap_tmp/setup.out" 2>&1 || { cat "$tap_tmp/setup.out"; bail "desk_setup"; }
	desk_start >"$tap_tmp/start.out" 2>&1 || { cat "$tap_tmp/start.out"; bail "desk_start"; }
}

send_ok() { # desc name from to file
	local desc=$1
	shift
	desk_send "$@"
	tap_like "$desc" "$DESK_REPLY" '^250 '
}

process() {
	desk_process "$1" >"$tap_tmp/process.out" 2>&1 || { cat "$tap_tmp/process.out"; bail "processor at $1"; }
}

state() { desk_ctl case "$1" --json | jq -r .state_name; }

count_notices() { # case notice
	desk_ctl outbox --json | jq --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | length'
}

attention_of() { # case kind
	desk_ctl attention --json | jq --arg c "$1" --arg k "$2" \
		'[.[] | select(.case == $c and .kind == $k)] | length'
}

notice_ok() { # case notice audience to crypto regex
	local c=$1 n=$2 a=$3 to=$4 crypto=$5 re=$6 id st f
	id=$(desk_outbox_id "$c" "$n" "$a")
	st=$(desk_ctl outbox --json | jq -r --arg m "$id" '.[] | select(.message_id == $m) | .state')
	tap_is "$c $n to the $a: sent" "$st" sent
	f=$(desk_notice_file "$id")
	tap_ok "$c $n: in the Maildir" test -n "$f"
	[ -n "$f" ] || f=/dev/null
	tap_is "$c $n: to $to" "$(sed -n 's/^To: *//p' "$f" | head -n 1)" "$to"
	tap_like "$c $n: the subject carries [$c]" "$(desk_subject "$f" 2>/dev/null)" "^\\[$c\\]"
	desk_open_notice "$f" "$tap_tmp/$c.$n.$a.txt"
	tap_result $? "$c $n: signed by the desk key, good signature" \
		"$(cat "$tap_tmp/$c.$n.$a.txt.status" 2>/dev/null)"
	tap_is "$c $n: $crypto" "$NOTICE_CRYPTO" "$crypto"
	tap_like "$c $n: the text" "$(cat "$tap_tmp/$c.$n.$a.txt" 2>/dev/null)" "$re"
}

# The mails the processor applied to a case (its log: case, spool entry,
# queue id) against the store: the case's timeline has events of that spool
# entry, and their Message-ID is the one Postfix logged for the queue id.
# Prints one line per mismatch.
store_mismatches() {
	local c n q mid ids
	sed -n 's/.*: \(IPA#[0-9]*\): \(spool entry\|command mail\) \([0-9]*\) (queue id \([0-9A-Za-z]*\)[,)].*/\1 \3 \4/p' \
		"$DESK/log/processor.log" | sort -u |
		while read -r c n q; do
			mid=$(sed -n "s/.*: $q: message-id=<\(.*\)>\$/\1/p" "$PF_MAILLOG" | head -n 1)
			ids=$(desk_ctl timeline "$c" --json |
				jq -r --argjson n "$n" '[.[] | select(.spool_id == $n) | .message_id] | unique | join(" ")')
			[ "$ids" = "$mid" ] || echo "$c spool entry $n (queue id $q): timeline '$ids', Postfix '$mid'"
		done
}

desk_done() {
	local sent_in
	desk_settle >"$tap_tmp/process.out" 2>&1 || { cat "$tap_tmp/process.out"; bail "desk_settle"; }
	tap_ok "Postfix's queue is empty" desk_wait_queue 30
	tap_is "the intake spool is empty" "$(desk_ctl spool | grep -c .)" 0
	tap_is "every mail Postfix delivered to the desk was applied exactly once" \
		"$(desk_applied_qids | tr '\n' ' ')" "$(desk_desk_qids | tr '\n' ' ')"
	sent_in=$(awk '$2 ~ /^vuln-/ { print $1 }' "$DESK/accepted" | sort)
	tap_is "and every desk mail sent in with swaks is among them" \
		"$(comm -23 <(printf '%s\n' "$sent_in") <(desk_desk_qids) | tr '\n' ' ')" ""
	tap_is "each mail applied to a case is in its timeline, under Postfix's Message-ID" \
		"$(store_mismatches)" ""
	local f m n=0 bad='' ids=''
	# A notice: a mail whose own Message-ID (in its header) is the desk's.
	for f in "$DESK"/mail/outbound/new/* "$DESK"/mail/desk/new/*; do
		[ -f "$f" ] || continue
		m=$(sed -n '/^$/q; s/^[Mm]essage-[Ii][Dd]: *<\(todoke\..*\)>.*/\1/p' "$f")
		[ -n "$m" ] || continue
		n=$((n + 1))
		ids="$ids$m
"
		desk_open_notice "$f" "$tap_tmp/sweep.txt" || bad="$bad ${f##*/}"
	done
	tap_is "all $n notices delivered are signed by the desk (decrypted first if encrypted)" \
		"$bad" ""
	tap_is "they are the notices the outbox says were sent, each once" \
		"$(printf '%s' "$ids" | sort | tr '\n' ' ')" \
		"$(desk_ctl outbox --json | jq -r '.[] | select(.state == "sent") | .message_id' | sort | tr '\n' ' ')"
	tap_run desk_ctl check
	tap_is "todokectl check finds nothing wrong with the desk" "$rc:$(printf '%s' "$out" | grep PROBLEM)" 0:
	tap_unlike "no milter errors in Postfix's log" "$(cat "$PF_MAILLOG")" \
		'milter.*(timeout|unreachable|error|fatal)|warning: .*milter'
	if [ "$tap_failures" -gt 0 ]; then
		tail -n 30 "$DESK/log/processor.log" | sed 's/^/# processor: /'
		tail -n 15 "$DESK/log/milter.log" | sed 's/^/# milter: /'
	fi
	tap_done
}
