#!/bin/sh
# miltertest.t - the built todoke-milter against miltertest(8) scripts in
# tests/milter/: accept with headers, hand-back of foreign mail, the size
# refusal and the tempfail of a spool that cannot take the mail.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed"
	exit 0
fi

gnupg_setup desk-cv25519 discoverer.pub operator.pub
gpgconf --kill gpg-agent
milter_user=
if [ "$(id -u)" -eq 0 ]; then
	milter_user=nobody
	chown -R nobody "$GNUPGHOME"
fi

chmod 0755 "$tap_tmp"
ctl() { "$TOP_BUILDDIR/processor/todokectl" -o "paths.state_dir=$1" spool; }

# run_script NAME: runs tests/milter/NAME.lua against a fresh state dir.
run_script() {
	state="$tap_tmp/$1"
	mkdir -p "$state"
	chmod 0750 "$state"
	[ -n "$milter_user" ] && chown "$milter_user" "$state"
	port=$(( 20000 + $$ % 20000 + $(printf '%s' "$1" | wc -c) * 7 ))
	cat >"$state/todoke.conf" <<CONF
paths: { state_dir = "$state"; };
gpg: { home = "$GNUPGHOME"; };
milter: { socket = "inet:$port@127.0.0.1"; user = "$milter_user"; };
CONF
	TODOKE_MILTER="$TOP_BUILDDIR/milter/todoke-milter" \
	TODOKE_CONF="$state/todoke.conf" \
	TODOKE_SOCKET="inet:$port@127.0.0.1" \
	TODOKE_LUA_DIR="$TOP_SRCDIR/tests/milter" \
	TODOKE_SCRIPT="$TOP_SRCDIR/tests/milter/$1.lua" \
		miltertest -s "$TOP_SRCDIR/tests/milter/run.lua" >"$state/log" 2>&1
	rc=$?
	tap_result $rc "miltertest $1.lua" "$(tail -n 20 "$state/log")"
}

run_script accept
entries=$(ctl "$tap_tmp/accept")
tap_is "accept: one spool entry" "$(printf '%s\n' "$entries" | grep -c .)" 1
tap_like "accept: class reply, case IPA#00000123, queue id kept" "$entries" \
	"^1	[^	]+	reply	IPA#00000123	plain	op@operator.example	"
tap_like "accept: the milter logged the spooled entry" "$(cat "$tap_tmp/accept/log")" \
	"4ABC123: spooled entry 1 class=reply case=IPA#00000123 crypto=plain"

run_script not-desk
entries=$(ctl "$tap_tmp/not-desk")
tap_is "not-desk: only the desk mail was spooled" "$(printf '%s\n' "$entries" | grep -c .)" 1
tap_like "not-desk: it is the report" "$entries" "	report	-	plain	d@example.org	new report$"

run_script size
tap_like "size: refused naming the limit" "$(cat "$tap_tmp/size/log")" \
	"refused: todoke: message exceeds the limit of 4096 bytes"
tap_is "size: nothing spooled" "$(ctl "$tap_tmp/size" | grep -c .)" 0

run_script discard
tap_is "discard: both mails spooled" "$(ctl "$tap_tmp/discard" | grep -c .)" 2

run_script tempfail
tap_like "tempfail: the spool refusal is logged" "$(cat "$tap_tmp/tempfail/log")" \
	"cannot spool: .*spool full"
tap_is "tempfail: nothing spooled" "$(ctl "$tap_tmp/tempfail" | grep -c .)" 0

tap_done
