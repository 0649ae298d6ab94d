# scenario.sh - walking cases through the real intake and processor with a
# simulated clock. Source it after tests/integration/tap.sh.
#
#   scenario_setup              a fresh state directory, GnuPG home (desk
#                               key) and the option list $opts
#   mail_to NAME RCPT FROM SUBJECT [HEADER...]   (body on stdin)
#                               writes $tap_tmp/NAME.eml
#   feed NAME RCPT FROM         todoke-milter -t: the mail into the spool
#   report NAME                 a report from Taro Yamada <taro@discoverer.example>
#                               to vuln-info@ (body on stdin), fed
#   run_at ISO                  todoke-processor --once --now ISO
#   ctl ARGS...                 todokectl with the scenario's options ($out)
#   do_at ISO COMMAND...        todokectl do --now ISO, each argument a line
#   case_field CASE JQ          a jq expression over `todokectl case --json`
#   due CASE CLOCK              the clock's due date, YYYY-MM-DD
#   notices CASE NOTICE         how many notice intents of that name the case has
#   notices_to CASE NOTICE AUDIENCE  the same, to one audience
#   attention CASE KIND         how many staff attention items of that kind
#   last_notice_id CASE NOTICE  the Message-ID of the newest such notice
#   last_notice_token CASE NOTICE  its VERP token ("n" + id)
#
# Case numbers are IPA#00000001 and up, in the order reports arrive.

. "$TOP_SRCDIR/tests/lib/gnupg.sh"

milter="$TOP_BUILDDIR/milter/todoke-milter"
processor="$TOP_BUILDDIR/processor/todoke-processor"
todokectl="$TOP_BUILDDIR/processor/todokectl"
# Under `make check-valgrind` ($TDK_VALGRIND set) each program runs
# through tests/lib/valgrind-run, by a one-line script of the same name.
if [ -n "${TDK_VALGRIND:-}" ]; then
	mkdir -p "$tap_tmp/valgrind"
	for _prog in milter processor todokectl; do
		eval "_real=\$$_prog"
		printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' \
			"$TOP_SRCDIR/tests/lib/valgrind-run" "$_real" >"$tap_tmp/valgrind/$_prog"
		chmod +x "$tap_tmp/valgrind/$_prog"
		eval "$_prog=\$tap_tmp/valgrind/\$_prog"
	done
fi

if ! command -v jq >/dev/null 2>&1; then
	echo "Bail out! jq is not installed (it must be in the project's package list)"
	exit 1
fi

scenario_setup() {
	gnupg_setup desk-cv25519 discoverer.pub operator.pub alice.pub >/dev/null 2>&1 ||
		{ echo "Bail out! cannot make a GnuPG home"; exit 1; }
	state="$tap_tmp/state"
	mkdir -m 700 "$state"
	opts="-c $TOP_SRCDIR/conf/todoke.conf -o paths.state_dir=$state
	      -o paths.rules_dir=$TOP_SRCDIR/rules -o gpg.home=$GNUPGHOME
	      -o gpg.time_budget_ms=60000 -o processor.store_map_size=268435456
	      -o spool.map_size=268435456"
}

mail_to() { # name rcpt from subject [header...]
	_name=$1 _rcpt=$2 _from=$3 _subject=$4
	shift 4
	{
		printf 'From: %s\nTo: %s\nSubject: %s\n' "$_from" "$_rcpt" "$_subject"
		printf 'Message-ID: <%s.%s@scenario.example>\n' "$_name" "$$"
		printf 'Date: Mon, 01 Mar 2027 10:00:00 +0900\n'
		for _h in "$@"; do printf '%s\n' "$_h"; done
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n\n'
		cat
	} >"$tap_tmp/$_name.eml"
}

feed() { # name rcpt envelope-from
	# shellcheck disable=SC2086
	"$milter" $opts -t "$tap_tmp/$1.eml" --rcpt "$2" --from "$3" \
		>"$tap_tmp/feed.out" 2>"$tap_tmp/feed.err"
	if [ "$(jq -r .written "$tap_tmp/feed.out" 2>/dev/null)" != true ]; then
		echo "# feed $1 failed: $(cat "$tap_tmp/feed.out" "$tap_tmp/feed.err")"
		return 1
	fi
}

report() { # name
	mail_to "$1" vuln-info@localhost 'Taro Yamada <taro@discoverer.example>' 'report'
	feed "$1" vuln-info@localhost taro@discoverer.example
}

run_at() {
	# shellcheck disable=SC2086
	"$processor" $opts -f --once --now "$1" >"$tap_tmp/run.out" 2>&1 ||
		{ echo "# processor failed at $1:"; sed 's/^/#   /' "$tap_tmp/run.out"; return 1; }
}

ctl() {
	# shellcheck disable=SC2086
	tap_run "$todokectl" $opts "$@"
}

do_at() { # iso command...
	_when=$1
	shift
	printf '%s\n' "$@" >"$tap_tmp/do.in"
	# shellcheck disable=SC2086
	"$todokectl" $opts do --now "$_when" - <"$tap_tmp/do.in" >"$tap_tmp/do.out" 2>&1
	_rc=$?
	[ $_rc -eq 0 ] || sed 's/^/#   /' "$tap_tmp/do.out"
	return $_rc
}

case_field() { # case jq
	# shellcheck disable=SC2086
	"$todokectl" $opts case "$1" --json 2>/dev/null | jq -r "$2"
}

due() { # case clock
	case_field "$1" ".clocks[\"$2\"].due // \"none\"" | cut -c1-10
}

notices() { # case notice
	# shellcheck disable=SC2086
	"$todokectl" $opts outbox --json | jq --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | length'
}

attention() { # case kind
	# shellcheck disable=SC2086
	"$todokectl" $opts attention --json | jq --arg c "$1" --arg k "$2" \
		'[.[] | select(.case == $c and .kind == $k)] | length'
}

last_notice_id() { # case notice
	# shellcheck disable=SC2086
	"$todokectl" $opts outbox --json | jq -r --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | last | .message_id'
}

last_notice_token() { # case notice
	# shellcheck disable=SC2086
	"$todokectl" $opts outbox --json | jq -r --arg c "$1" --arg n "$2" \
		'[.[] | select(.case == $c and .notice == $n)] | last | "n\(.id)"'
}

notices_to() { # case notice audience
	# shellcheck disable=SC2086
	"$todokectl" $opts outbox --json | jq --arg c "$1" --arg n "$2" --arg a "$3" \
		'[.[] | select(.case == $c and .notice == $n and .audience == $a)] | length'
}
