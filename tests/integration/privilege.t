#!/bin/bash
# privilege.t - least privilege: the milter and the processor run as two
# users that share only the intake spool (spool.group); the milter cannot
# open the case store; each GnuPG home is its own user's; files and
# directories get private modes; unsafe modes and a writable
# configuration file stop the daemons with a message naming the path and
# the fix. Needs root, to make the test users and switch to them.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"

milter_bin=$TOP_BUILDDIR/milter/todoke-milter
processor_bin=$TOP_BUILDDIR/processor/todoke-processor
ctl_bin=$TOP_BUILDDIR/processor/todokectl

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	echo "1..0 # SKIP needs root, useradd and runuser"
	exit 0
fi
bail() { echo "Bail out! $*"; exit 1; }

# ---------------------------------------------------------------- users
# Two system users with their own primary groups, both in the shared
# group. Made once and kept: a second run (or another checkout) finds them.
SHARE=tdk-test-share MUSER=tdk-test-milter PUSER=tdk-test-proc
ensure_group() { getent group "$1" >/dev/null || groupadd --system "$1" 2>/dev/null || getent group "$1" >/dev/null; }
ensure_user() {
	ensure_group "$1" || return 1
	getent passwd "$1" >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin -g "$1" -G "$SHARE" "$1" 2>/dev/null ||
		getent passwd "$1" >/dev/null || return 1
	id -nG "$1" | tr ' ' '\n' | grep -qx "$SHARE" || usermod -a -G "$SHARE" "$1"
}
if ! { ensure_group "$SHARE" && ensure_user "$MUSER" && ensure_user "$PUSER"; }; then
	echo "1..0 # SKIP cannot make the test users $MUSER and $PUSER (read-only /etc?)"
	exit 0
fi
muid=$(id -u "$MUSER") puid=$(id -u "$PUSER") sgid=$(getent group "$SHARE" | cut -d: -f3)

# ---------------------------------------------------------------- setup
W=
MGH= PGH=
milter_pid=
cleanup() {
	[ -n "$milter_pid" ] && kill "$milter_pid" 2>/dev/null && wait "$milter_pid" 2>/dev/null
	[ -n "$MGH" ] && runuser -u "$MUSER" -- env GNUPGHOME="$MGH" gpgconf --kill gpg-agent >/dev/null 2>&1
	[ -n "$PGH" ] && runuser -u "$PUSER" -- env GNUPGHOME="$PGH" gpgconf --kill gpg-agent >/dev/null 2>&1
	gnupg_cleanup
	[ -n "$W" ] && rm -rf "$W"
	rm -rf "$tap_tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

W=$(mktemp -d /tmp/tdk-priv.XXXXXX) || bail mktemp
chmod 755 "$W"
state=$W/state
# As an installer would: the state directory the processor's, the spool
# in it setgid for the shared group (the milter cannot make it itself).
mkdir -m 750 "$state" "$W/run" && chown "$PUSER:$SHARE" "$state" && chown "$MUSER:$SHARE" "$W/run" &&
	install -d -o "$PUSER" -g "$SHARE" -m 2770 "$state/spool" || bail "state directory"

gnupg_new_home desk-cv25519 discoverer.pub || bail "the milter's GnuPG home"
MGH=$GNUPGHOME
gnupg_new_home desk-cv25519 discoverer.pub || bail "the processor's GnuPG home"
PGH=$GNUPGHOME
gpgconf --kill gpg-agent
GNUPGHOME=$MGH gpgconf --kill gpg-agent
chown -R "$MUSER:$MUSER" "$MGH" && chown -R "$PUSER:$PUSER" "$PGH" || bail "chown homes"

conf=$W/todoke.conf
cat >"$conf" <<EOF
paths: { state_dir = "$state"; rules_dir = "$TOP_SRCDIR/rules"; };
gpg: { home = "$MGH"; time_budget_ms = 60000; };
milter: { socket = "unix:$W/run/milter.sock"; user = "$MUSER"; };
spool: { map_size = 67108864; group = "$SHARE"; };
processor: { user = "$PUSER"; gpg_home = "$PGH"; store_map_size = 67108864; };
EOF
chown "root:$SHARE" "$conf" && chmod 640 "$conf"

mode_of() { stat -c '%a %U:%G' "$1"; }
status_ids() { # pid: "uid gid groups" from /proc
	awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
	     /^Groups:/ { $1 = ""; s = $0 } END { print u "|" g "|" s }' "/proc/$1/status"
}
as_milter() { runuser -u "$MUSER" -- "$@"; }
as_proc() { runuser -u "$PUSER" -- "$@"; }
processor_once() { "$processor_bin" -c "$conf" -f --once --now 2027-03-01T01:00:00Z "$@"; }

cat >"$W/report.eml" <<'EOF'
From: Taro Yamada <taro@discoverer.example>
To: vuln-info@localhost
Subject: XSS in the search page
Message-ID: <privilege-1@discoverer.example>
Date: Mon, 01 Mar 2027 10:00:00 +0900
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

URL: https://www.example.jp/search
The search page reflects the q parameter without escaping.
EOF
chmod 644 "$W/report.eml"

# ---------------------------------------------------- the milter daemon
# Started as root, it switches to milter.user and makes the spool.
"$milter_bin" -c "$conf" -f >"$W/milter.log" 2>&1 &
milter_pid=$!
for _ in $(seq 300); do
	[ -S "$W/run/milter.sock" ] && break
	kill -0 "$milter_pid" 2>/dev/null || break
	sleep 0.1
done
[ -S "$W/run/milter.sock" ] || { sed 's/^/# /' "$W/milter.log"; bail "the milter did not start"; }
ids=$(status_ids "$milter_pid")
tap_is "the milter runs as milter.user (real, effective, saved, fs uid)" \
	"${ids%%|*}" "$muid $muid $muid $muid"
tap_like "with the shared group among its groups" "${ids##*|}" "(^| )$sgid( |$)"
tap_is "the milter's socket is closed to others" "$(stat -c %a "$W/run/milter.sock")" 770
tap_is "the milter's umask keeps others out" "$(awk '/^Umask:/ { print $2 }' "/proc/$milter_pid/status")" 0007
tap_is "the spool directory is still setgid, 2770, group spool.group" \
	"$(mode_of "$state/spool")" "2770 $PUSER:$SHARE"
tap_is "spool data.mdb: 0660, group spool.group" "$(mode_of "$state/spool/data.mdb")" "660 $MUSER:$SHARE"
tap_is "spool lock.mdb: 0660, group spool.group" "$(mode_of "$state/spool/lock.mdb")" "660 $MUSER:$SHARE"
kill "$milter_pid" && wait "$milter_pid"
milter_pid=

# A report, spooled by the milter's user (the intake's test mode).
tap_run as_milter "$milter_bin" -c "$conf" -t "$W/report.eml" --rcpt vuln-info@localhost \
	--from taro@discoverer.example
tap_like "the milter's user spools a report" "$out" '"written" *: *true'

# -------------------------------------------------- the processor daemon
"$processor_bin" -c "$conf" -f >"$W/processor.log" 2>&1 &
ppid_=$!
for _ in $(seq 300); do
	grep -q started "$W/processor.log" && break
	kill -0 "$ppid_" 2>/dev/null || break
	sleep 0.1
done
ids=$(status_ids "$ppid_")
tap_is "the processor runs as processor.user" "${ids%%|*}" "$puid $puid $puid $puid"
tap_like "with the shared group among its groups" "${ids##*|}" "(^| )$sgid( |$)"
tap_is "the processor's umask is 027" "$(awk '/^Umask:/ { print $2 }' "/proc/$ppid_/status")" 0027
for _ in $(seq 300); do
	[ -z "$(as_proc "$ctl_bin" -c "$conf" spool 2>/dev/null)" ] && break
	sleep 0.1
done
kill "$ppid_" && wait "$ppid_"
tap_is "it consumed the milter's spool entry (spool empty)" \
	"$(as_proc "$ctl_bin" -c "$conf" spool 2>&1)" ""
tap_run as_proc "$ctl_bin" -c "$conf" case IPA#00000001 --json
tap_like "and made case 1 of it" "$out" '"case" *: *"IPA#00000001"'

tap_is "the store directory: 0700, processor.user's" "$(mode_of "$state/store")" "700 $PUSER:$PUSER"
tap_is "store data.mdb: 0600" "$(mode_of "$state/store/data.mdb")" "600 $PUSER:$PUSER"
tap_is "store lock.mdb: 0600" "$(mode_of "$state/store/lock.mdb")" "600 $PUSER:$PUSER"
tap_is "personal data directory: 0700" "$(mode_of "$state/store/pii")" "700 $PUSER:$PUSER"
tap_is "personal data data.mdb: 0600" "$(mode_of "$state/store/pii/data.mdb")" "600 $PUSER:$PUSER"
tap_is "nothing under the state directory is open to others" \
	"$(find "$state" -perm /o=rwx | sort | tr '\n' ' ')" ""
tap_is "no directory but the spool is group-writable" \
	"$(find "$state" -type d -perm /g=w | tr '\n' ' ')" "$state/spool "

# ---------------------------------------------- the milter and the store
tap_run as_milter "$ctl_bin" -c "$conf" cases
tap_is "the milter's user cannot open the case store (status 1)" "$rc" 1
tap_is "and is told why" "$err" \
	"todokectl: cannot open the case store $state/store: Permission denied"
tap_run as_milter cat "$state/store/pii/data.mdb"
tap_is "nor read the personal data" "$rc" 1
nm "$milter_bin" >"$W/milter.nm" 2>/dev/null
tap_is "the milter binary has symbols to look at (spool_put)" "$(grep -c ' T spool_put$' "$W/milter.nm")" 1
tap_is "and none of the case store's functions (store_*, pii_*)" \
	"$(grep -E ' [TU] (store_|pii_)' "$W/milter.nm" | tr '\n' ' ')" ""
tap_run as_milter ls "$PGH"
tap_is "the milter's user cannot read the processor's GnuPG home" "$rc" 2
tap_run as_proc ls "$MGH"
tap_is "nor the processor's user the milter's" "$rc" 2
tap_is "the milter's GnuPG home: 0700, milter.user's" "$(mode_of "$MGH")" "700 $MUSER:$MUSER"
tap_is "the processor's GnuPG home: 0700, processor.user's" "$(mode_of "$PGH")" "700 $PUSER:$PUSER"

# ------------------------------------------------------- who may be root
tap_run processor_once -o "processor.user=$MUSER"
tap_is "processor.user equal to milter.user is refused" "$rc" 1
tap_like "with the reason" "$err" \
	"processor.user and milter.user are both '$MUSER'; the processor needs a user of its own"
tap_run "$processor_bin" -c "$conf" -f -o processor.user=
tap_is "the processor daemon refuses to stay root" "$rc" 1
tap_like "and says which setting to set" "$err" "refusing to run as root: set processor.user"
tap_run "$milter_bin" -c "$conf" -f -o milter.user=
tap_is "so does the milter" "$rc" 1
tap_like "naming milter.user" "$err" "refusing to run as root: set milter.user"

# ------------------------------------------- unsafe modes stop the start
# refused WHAT MODE PATH PATTERN CMD...: chmod PATH, run, expect refusal.
refused() {
	local what=$1 mode=$2 path=$3 pattern=$4 old
	shift 4
	old=$(stat -c %a "$path")
	chmod "$mode" "$path"
	tap_run "$@"
	chmod "$old" "$path"
	tap_is "$what (mode $mode) stops the start" "$([ "$rc" -ne 0 ] && echo refused || echo "started: $rc")" refused
	tap_like "naming $path and the fix" "$err" "$pattern"
}
refused "a group-writable configuration file" 660 "$conf" \
	"^todoke-processor: $conf is group-writable \(mode 0660\).*fix: chmod go-w $conf\$" \
	processor_once
refused "a world-writable configuration file" 642 "$conf" \
	"^todoke-milter: $conf is world-writable \(mode 0642\).*fix: chmod go-w $conf\$" \
	"$milter_bin" -c "$conf" -f
tap_run "$milter_bin" -c "$conf" -n
tap_is "the safe configuration file passes --check-config" "$rc" 0
chmod 664 "$conf"
tap_run "$processor_bin" -c "$conf" -n
chmod 640 "$conf"
tap_is "--check-config refuses a group-writable one with status 2" "$rc" 2
refused "a world-readable processor GnuPG home" 755 "$PGH" \
	"GnuPG home $PGH has unsafe mode 0755: world-readable.*use chmod 700" processor_once
refused "a group-readable milter GnuPG home" 750 "$MGH" \
	"GnuPG home $MGH has unsafe mode 0750: group-readable.*use chmod 700" \
	as_milter "$milter_bin" -c "$conf" -t "$W/report.eml" --rcpt vuln-info@localhost --dry-run
refused "an open private-keys-v1.d" 755 "$PGH/private-keys-v1.d" \
	"GnuPG secret key directory $PGH/private-keys-v1.d has unsafe mode 0755.*use chmod 700 $PGH/private-keys-v1.d" \
	processor_once
refused "a world-readable case store" 755 "$state/store" \
	"case store directory $state/store is open to others \(mode 0755\).*fix: chmod 0700 $state/store\$" \
	processor_once
refused "a world-readable store file" 644 "$state/store/data.mdb" \
	"case store file $state/store/data.mdb is open to others \(mode 0644\).*fix: chmod 0600 $state/store/data.mdb\$" \
	processor_once
refused "a world-readable personal data file" 604 "$state/store/pii/data.mdb" \
	"case store file $state/store/pii/data.mdb is open to others \(mode 0604\)" \
	processor_once
refused "a world-readable spool" 2775 "$state/spool" \
	"spool directory $state/spool is open to others \(mode 2775\).*fix: chmod o-rwx $state/spool\$" \
	processor_once
refused "a world-readable spool file" 664 "$state/spool/data.mdb" \
	"spool file $state/spool/data.mdb is open to others \(mode 0664\)" \
	as_milter "$milter_bin" -c "$conf" -t "$W/report.eml" --rcpt vuln-info@localhost
refused "a spool group-writable for a group other than spool.group" 2770 "$state/spool" \
	"spool directory $state/spool is group-writable \(mode 2770\) but not shared through spool.group" \
	processor_once -o spool.group=
tap_run processor_once
tap_is "with every mode put back the processor starts again" "$rc" 0

tap_done
