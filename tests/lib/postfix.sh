# postfix.sh - a private Postfix instance on loopback for tests and benchmarks.
# Source it (POSIX sh, dash or bash; works under set -u and set -e). Needs
# root: Postfix's master runs as root and drops to mail_owner (postfix).
#
#   postfix_setup [DIR] [PORT]   write main.cf/master.cf of a private instance
#                                in DIR (default: a new mktemp -d /tmp/tdk-pf.*,
#                                removed at exit) with smtpd on 127.0.0.1:PORT
#                                (default: a free port). Sets PF_DIR, PF_PORT,
#                                PF_CONF (its config_directory), PF_QUEUE,
#                                PF_MAILLOG. Mail is not delivered anywhere
#                                until one of the next two is called:
#   postfix_sink_setup [SINKPORT] start smtp-sink -u postfix on
#                                127.0.0.1:SINKPORT (default: a free port),
#                                dumping each mail to a file in $PF_SINK_DIR,
#                                and relay ALL mail of the instance to it
#                                (nothing is local, not even @localhost).
#                                Sets PF_SINK_PORT, PF_SINK_DIR, PF_SINK_PID.
#   postfix_maildir_setup [DOMAIN...] deliver mail for localhost, desk.example
#                                and DOMAIN... into one Maildir,
#                                $PF_DIR/mail/Maildir (virtual(8), any local
#                                part; no users, no aliases needed); relay
#                                nothing else.
#   postfix_milter SPEC          smtpd_milters = SPEC (e.g. inet:127.0.0.1:PORT),
#                                milter_default_action = tempfail,
#                                milter_protocol = 6; "" removes the milter
#   postfix_conf NAME=VALUE...   set main.cf parameters of the instance
#   postfix_start                start it (refuses to start the system instance)
#   postfix_reload               re-read main.cf (after postfix_conf/_milter)
#   postfix_stop                 stop it and wait until its master has gone
#   postfix_master_pid           print the pid of its master (status 1: none)
#   postfix_flush                retry the deferred mail now
#   postfix_queue_count          print the number of mails in the queue
#   postfix_wait_queue_empty [SECONDS]  wait (default 30 s) until the queue is
#                                empty; status 1 on timeout
#   postfix_maillog              print the instance's log ($PF_MAILLOG)
#   postfix_sink_count           print the number of mails the sink received
#   postfix_sink_files           print the sink's dump files, oldest first
#   postfix_sink_wait COUNT [SECONDS]  wait until the sink holds COUNT mails
#   postfix_sink_stop            stop the sink
#   postfix_free_port            print a free TCP port on 127.0.0.1, below the
#                                kernel's ephemeral port range
#   postfix_wait_port PORT [SECONDS]  wait until 127.0.0.1:PORT accepts
#   postfix_cleanup              stop everything, remove the instance from
#                                /etc/postfix/main.cf and remove DIR if it was
#                                made here. Runs at exit (chained before any
#                                EXIT trap already set).
#
# System side. `postfix -c DIR` refuses a config directory that the default
# /etc/postfix/main.cf does not list in alternate_config_directories, so
# postfix_setup appends DIR/etc there (under a lock; idempotent; entries of
# vanished /tmp/tdk-pf.* and /tmp/todoke-desk.* instances are pruned) and
# postfix_cleanup takes it out again. Nothing else of /etc/postfix/main.cf is touched. If the package
# was installed with "No configuration" and main.cf is missing, a minimal one
# is written holding only that line and compatibility_level. The system
# instance is never started, stopped or reloaded.
#
# The instance: config, queue and data directories under DIR, mail_owner
# postfix, inet_interfaces loopback-only, IPv4 only, no chroot, logging to
# DIR/maillog through postlogd (maillog_file; there is no syslog daemon),
# alias_maps empty (so /etc/aliases and newaliases never matter),
# myhostname todoke-test.localdomain (the machine's name may not be an FQDN).

_postfix_hooked=${_postfix_hooked:-no}
_postfix_portfile=/tmp/tdk-pf-ports.$$
PF_DIR=${PF_DIR:-}
PF_SINK_PID=${PF_SINK_PID:-}
_postfix_own_dir=${_postfix_own_dir:-no}
_postfix_lock=/run/lock/todoke-postfix-tests.lock
[ -d /run/lock ] || _postfix_lock=/tmp/todoke-postfix-tests.lock

_postfix_die() {
	echo "postfix.sh: $*" >&2
	return 1
}

postfix_free_port() {
	# Below the kernel's ephemeral range: a port in it may be taken as
	# the source port of some outgoing connection between this check and
	# the bind (and a benchmark makes thousands of connections).
	_pf_lo=10000
	_pf_hi=$(awk '{ print $1 - 1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || _pf_hi=32767
	[ "${_pf_hi:-0}" -gt $((_pf_lo + 1000)) ] || { _pf_lo=61000 _pf_hi=65000; }
	_pf_n=0
	while [ "$_pf_n" -lt 200 ]; do
		_pf_n=$((_pf_n + 1))
		_pf_p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_pf_p=$((_pf_lo + _pf_p % (_pf_hi - _pf_lo + 1)))
		# Ports handed out before in this shell ($$ is the same in
		# subshells, so this works through $(postfix_free_port) too).
		grep -qx "$_pf_p" "$_postfix_portfile" 2>/dev/null && continue
		if [ -z "$(ss -Hltn "sport = :$_pf_p" 2>/dev/null)" ] &&
			[ -z "$(ss -Htn "sport = :$_pf_p" 2>/dev/null)" ]; then
			echo "$_pf_p" >>"$_postfix_portfile"
			echo "$_pf_p"
			return 0
		fi
	done
	_postfix_die "no free port found"
}

# postfix_wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
postfix_wait_port() {
	_pf_t=$(( ${2:-10} * 10 ))
	while [ "$_pf_t" -gt 0 ]; do
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.1
		_pf_t=$((_pf_t - 1))
	done
	_postfix_die "nothing listens on 127.0.0.1:$1"
}

# Edits alternate_config_directories of the default main.cf: add or del DIR.
_postfix_system_conf() { # add|del DIR
	(
		flock -w 30 9 || { echo "postfix.sh: cannot lock $_postfix_lock" >&2; exit 1; }
		if [ ! -f /etc/postfix/main.cf ]; then
			[ "$1" = add ] || exit 0
			postconf -d mail_version >/dev/null || exit 1
			cat >/etc/postfix/main.cf <<-'EOF'
			# Minimal main.cf written by todoke's tests/lib/postfix.sh: the postfix
			# package was installed with "No configuration". It only lists the
			# private test instances (alternate_config_directories) so that
			# `postfix -c DIR` accepts them. The tests never start this instance.
			compatibility_level = 3.6
			EOF
		fi
		_pf_cur=$(postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null) || _pf_cur=
		_pf_new=
		for _pf_d in $(printf '%s\n' "$_pf_cur" | tr ',' ' '); do
			case $_pf_d in
			"$2") continue ;;
			/tmp/tdk-pf.*/etc | /tmp/todoke-desk.*/postfix/etc) [ -d "$_pf_d" ] || continue ;;
			esac
			_pf_new="${_pf_new:+$_pf_new }$_pf_d"
		done
		[ "$1" = add ] && _pf_new="${_pf_new:+$_pf_new }$2"
		[ "$_pf_new" = "$_pf_cur" ] && exit 0
		if [ -n "$_pf_new" ]; then
			postconf -c /etc/postfix -e "alternate_config_directories = $_pf_new"
		else
			postconf -c /etc/postfix -X alternate_config_directories
		fi
	) 9>"$_postfix_lock"
}

_postfix_master_cf() {
	cat <<EOF
# master.cf of a private todoke test instance (tests/lib/postfix.sh)
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PF_PORT inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

postfix_setup() {
	[ "$(id -u)" -eq 0 ] || { _postfix_die "must run as root"; return 1; }
	command -v postconf >/dev/null || { _postfix_die "postfix is not installed"; return 1; }
	if [ -n "${1:-}" ]; then
		PF_DIR=$1
		mkdir -p "$PF_DIR" || return 1
		PF_DIR=$(cd "$PF_DIR" && pwd)
	else
		PF_DIR=$(mktemp -d /tmp/tdk-pf.XXXXXX) || return 1
		_postfix_own_dir=yes
	fi
	PF_PORT=${2:-}
	[ -n "$PF_PORT" ] || PF_PORT=$(postfix_free_port) || return 1
	PF_CONF=$PF_DIR/etc
	PF_QUEUE=$PF_DIR/queue
	PF_MAILLOG=$PF_DIR/maillog
	export PF_DIR PF_PORT PF_CONF PF_QUEUE PF_MAILLOG
	case $PF_CONF in
	/etc/postfix | /etc/postfix/) _postfix_die "refusing to use the system instance"; return 1 ;;
	esac
	# Postfix's processes run as postfix and must reach the queue.
	chmod 755 "$PF_DIR"
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DIR/data" || return 1
	chown postfix "$PF_DIR/data"
	chmod 755 "$PF_CONF" "$PF_QUEUE"
	_postfix_hook_exit
	_postfix_system_conf add "$PF_CONF" || { _postfix_die "cannot edit /etc/postfix/main.cf"; return 1; }

	cat >"$PF_CONF/main.cf" <<EOF
# main.cf of a private todoke test instance (tests/lib/postfix.sh)
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_MAILLOG
maillog_file_prefixes = $PF_DIR
syslog_name = postfix-test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = todoke-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP todoke test instance
# Mail goes nowhere until postfix_sink_setup or postfix_maildir_setup.
mydestination =
local_recipient_maps =
relay_domains =
default_transport = error:no delivery configured for this test instance
# Never defer long: tests look at the queue.
delay_warning_time = 0
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 30s
EOF
	_postfix_master_cf >"$PF_CONF/master.cf"
	# postfix check reads the master.cf/main.cf and creates the queue.
	if ! postfix -c "$PF_CONF" check >"$PF_DIR/check.out" 2>&1; then
		cat "$PF_DIR/check.out" >&2
		_postfix_die "postfix check failed for $PF_CONF"
		return 1
	fi
}

postfix_conf() {
	[ -n "$PF_CONF" ] || { _postfix_die "postfix_setup first"; return 1; }
	postconf -c "$PF_CONF" -e "$@"
}

postfix_sink_setup() {
	[ -n "$PF_DIR" ] || { _postfix_die "postfix_setup first"; return 1; }
	PF_SINK_PORT=${1:-}
	[ -n "$PF_SINK_PORT" ] || PF_SINK_PORT=$(postfix_free_port) || return 1
	PF_SINK_DIR=$PF_DIR/sink
	export PF_SINK_PORT PF_SINK_DIR
	mkdir -p "$PF_SINK_DIR" && chown postfix "$PF_SINK_DIR" || return 1
	# One file per mail: <time>.<random hex>; -h: not our myhostname,
	# or smtp(8) would see a mail loop.
	smtp-sink -u postfix -h todoke-sink.localdomain \
		-d "$PF_SINK_DIR/%Y%m%d%H%M%S." \
		"127.0.0.1:$PF_SINK_PORT" 256 >"$PF_DIR/sink.log" 2>&1 &
	PF_SINK_PID=$!
	postfix_wait_port "$PF_SINK_PORT" 10 || { cat "$PF_DIR/sink.log" >&2; return 1; }
	postfix_conf \
		"mydestination =" \
		"local_recipient_maps =" \
		"relay_domains =" \
		"default_transport = smtp" \
		"relayhost = [127.0.0.1]:$PF_SINK_PORT" \
		"transport_maps = static:smtp:[127.0.0.1]:$PF_SINK_PORT" \
		"smtp_dns_support_level = disabled" \
		"smtp_destination_concurrency_limit = 20" \
		"smtp_connection_cache_on_demand = yes"
}

postfix_maildir_setup() {
	[ -n "$PF_DIR" ] || { _postfix_die "postfix_setup first"; return 1; }
	mkdir -p "$PF_DIR/mail" && chown postfix:postfix "$PF_DIR/mail" || return 1
	PF_MAILDIR=$PF_DIR/mail/Maildir
	export PF_MAILDIR
	_pf_uid=$(id -u postfix) _pf_gid=$(id -g postfix)
	postfix_conf \
		"mydestination =" \
		"local_recipient_maps =" \
		"relayhost =" \
		"transport_maps =" \
		"default_transport = error:this test instance relays nothing" \
		"virtual_mailbox_domains = localhost desk.example $*" \
		"virtual_mailbox_base = $PF_DIR/mail" \
		"virtual_mailbox_maps = static:Maildir/" \
		"virtual_uid_maps = static:$_pf_uid" \
		"virtual_gid_maps = static:$_pf_gid"
}

postfix_milter() {
	if [ -z "${1:-}" ]; then
		postfix_conf "smtpd_milters ="
	else
		postfix_conf "smtpd_milters = $1" \
			"milter_default_action = tempfail" \
			"milter_protocol = 6"
	fi
}

# Runs a postfix command; postfix(1) prints errors only to a terminal or the
# maillog, so on failure the maillog tail is shown.
_postfix_cmd() {
	_pf_lines=0
	[ -f "$PF_MAILLOG" ] && _pf_lines=$(wc -l <"$PF_MAILLOG")
	if ! postfix -c "$PF_CONF" "$@" >"$PF_DIR/cmd.out" 2>&1; then
		cat "$PF_DIR/cmd.out" >&2
		[ -f "$PF_MAILLOG" ] && tail -n +"$((_pf_lines + 1))" "$PF_MAILLOG" >&2
		_postfix_die "postfix -c $PF_CONF $* failed"
		return 1
	fi
}

postfix_master_pid() {
	[ -f "$PF_QUEUE/pid/master.pid" ] || return 1
	_pf_pid=$(tr -d ' ' <"$PF_QUEUE/pid/master.pid")
	[ -n "$_pf_pid" ] && kill -0 "$_pf_pid" 2>/dev/null && echo "$_pf_pid"
}

postfix_start() {
	[ -n "$PF_CONF" ] || { _postfix_die "postfix_setup first"; return 1; }
	_postfix_cmd start || return 1
	postfix_wait_port "$PF_PORT" 10 || { postfix_maillog | tail -20 >&2; return 1; }
}

postfix_reload() {
	_postfix_cmd reload
}

postfix_stop() {
	[ -n "$PF_CONF" ] || return 0
	_pf_pid=$(postfix_master_pid) || return 0
	postfix -c "$PF_CONF" stop >/dev/null 2>&1 || :
	_pf_t=100
	while kill -0 "$_pf_pid" 2>/dev/null; do
		_pf_t=$((_pf_t - 1))
		if [ "$_pf_t" -le 0 ]; then
			echo "postfix.sh: master $_pf_pid did not stop; killing it" >&2
			kill -9 "$_pf_pid" 2>/dev/null || :
			break
		fi
		sleep 0.1
	done
	return 0
}

postfix_flush() {
	_postfix_cmd flush
}

postfix_queue_count() {
	find "$PF_QUEUE/maildrop" "$PF_QUEUE/incoming" "$PF_QUEUE/active" \
		"$PF_QUEUE/deferred" "$PF_QUEUE/hold" "$PF_QUEUE/corrupt" \
		-type f 2>/dev/null | wc -l
}

postfix_wait_queue_empty() {
	_pf_t=$(( ${1:-30} * 10 ))
	while [ "$(postfix_queue_count)" -ne 0 ]; do
		_pf_t=$((_pf_t - 1))
		[ "$_pf_t" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

postfix_maillog() {
	cat "$PF_MAILLOG" 2>/dev/null
}

postfix_sink_files() {
	ls -rt "$PF_SINK_DIR"/* 2>/dev/null || :
}

postfix_sink_count() {
	find "$PF_SINK_DIR" -type f 2>/dev/null | wc -l
}

postfix_sink_wait() { # COUNT [SECONDS]
	_pf_t=$(( ${2:-30} * 10 ))
	while [ "$(postfix_sink_count)" -lt "$1" ]; do
		_pf_t=$((_pf_t - 1))
		[ "$_pf_t" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

postfix_sink_stop() {
	[ -n "$PF_SINK_PID" ] || return 0
	kill "$PF_SINK_PID" 2>/dev/null || :
	wait "$PF_SINK_PID" 2>/dev/null || :
	PF_SINK_PID=
}

postfix_cleanup() {
	rm -f "$_postfix_portfile"
	[ -n "$PF_DIR" ] || return 0
	postfix_stop
	postfix_sink_stop
	_postfix_system_conf del "$PF_CONF" || :
	if [ "$_postfix_own_dir" = yes ]; then
		case $PF_DIR in
		/tmp/tdk-pf.*) rm -rf "$PF_DIR" ;;
		esac
	fi
	PF_DIR= PF_CONF=
	return 0
}

# Adds postfix_cleanup to the EXIT trap, keeping a trap the caller has set
# (as tests/lib/gnupg.sh does; dash cannot read traps through $(trap)).
_postfix_hook_exit() {
	[ "$_postfix_hooked" = no ] || return 0
	_pf_tf=$(mktemp /tmp/tdk-trap.XXXXXX) || return 1
	trap >"$_pf_tf"
	_pf_prev=$(awk '/^trap -- / { cur = $0 } !/^trap -- / { cur = cur "\n" $0 }
		cur ~ / EXIT$/ { print substr(cur, 9, length(cur) - 13); exit }' "$_pf_tf")
	rm -f "$_pf_tf"
	_pf_prev_cmd=
	[ -z "$_pf_prev" ] || eval "_pf_prev_cmd=$_pf_prev"
	trap "postfix_cleanup; ${_pf_prev_cmd:-:}" EXIT
	_postfix_hooked=yes
}
