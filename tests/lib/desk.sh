# desk.sh - a private todoke desk on loopback, for `contrib/quickstart demo`
# and the end-to-end tests (tests/e2e). Source it from bash, as root, after
# setting TOP_SRCDIR (the source tree) and TOP_BUILDDIR (the build tree).
#
# A desk lives in one directory, $DESK:
#   todoke.conf         the desk's configuration (rules from the source tree)
#   state/              case store and intake spool (owned by $DESK_USER)
#   gnupg/desk/         the desk's GnuPG home: desk secret key, the public
#                       keys of discoverer, operator and staff (alice)
#   gnupg/world/        everybody else's home: the secret keys of the
#                       discoverer, the operator and alice, the desk's public
#                       key; it writes the mail that arrives and reads the
#                       notices that leave
#   postfix/            a private Postfix on 127.0.0.1 (tests/lib/postfix.sh)
#                       with todoke-milter in smtpd_milters
#   mail/desk/          Maildir: desk mail the milter passed on (vuln-*@localhost)
#   mail/outbound/      Maildir: every other mail, i.e. the desk's notices
#   log/                milter.log, processor.log, swaks.*.out; Postfix's
#                       log is postfix/maillog
#   out/                the mails sent in (NAME.eml)
#   accepted            "QID RECIPIENT" for each mail Postfix accepted
#   desk.env            what desk_attach needs to stop a kept desk
# All keys are tests/keys' INSECURE test keys.
#
#   desk_setup [DIR]        make the desk (DIR: default a new /tmp/todoke-desk.*)
#   desk_start              start todoke-milter (as $DESK_USER) and Postfix
#   desk_attach DIR         load desk.env of a desk made by another shell
#   desk_stop               stop milter, Postfix and gpg-agents; remove the
#                           instance from /etc/postfix/main.cf
#   desk_cleanup            desk_stop, then remove $DESK if desk_setup made it
#   desk_send NAME FROM TO FILE   SMTP to the private Postfix with swaks; sets
#                           DESK_REPLY (the answer to DATA) and DESK_QID; status
#                           1 unless the mail was accepted (250)
#   desk_report NAME FROM SUBJECT  (body on stdin) a PGP/MIME report signed
#                           by the discoverer's key, encrypted to the desk,
#                           sent to vuln-info@localhost
#   desk_mail NAME FROM TO SUBJECT [HEADER...]  (UTF-8 body on stdin) a plain
#                           mail, written to out/NAME.eml, not sent
#   desk_staff NAME WHEN    (commands on stdin) clearsigned by alice at WHEN
#                           (ISO 8601), sent to vuln-control@localhost
#   desk_process ISO        todoke-processor --once --now ISO (the simulated
#                           clock; DESK_NOW), then wait until Postfix delivered
#                           the notices
#   desk_settle             apply what is still in the spool (the staff's
#                           notices to vuln-control@) at the last instant
#   desk_ctl ARGS...        todokectl on the desk (as $DESK_USER)
#   desk_wait_queue         wait until Postfix's queue is empty
#   desk_notice_file MSGID  the file of the notice with that Message-ID in
#                           mail/outbound (status 1: not there)
#   desk_open_notice FILE OUT  decrypt (when encrypted) and verify a notice
#                           with the world's keys; writes its text (decoded) to
#                           OUT and sets NOTICE_CRYPTO (encrypted or signed)
#                           and NOTICE_SIGNER (the signing key's primary
#                           fingerprint); status 1 if it is not signed by the
#                           desk key with a good signature
#   desk_subject FILE       the decoded Subject of a mail
#   desk_outbox_id CASE NOTICE [AUDIENCE]  the Message-ID of the newest notice
#   desk_desk_qids          the queue ids of mail Postfix accepted for a desk
#                           address, from its log, one a line, sorted
#   desk_applied_qids       the queue ids of the spool entries the processor
#                           applied, from its log, one a line, sorted (a mail
#                           spooled twice is listed twice)
#
# Fingerprints: DESK_KEY, DISCOVERER_KEY, OPERATOR_KEY, ALICE_KEY.

# shellcheck source=tests/lib/gnupg.sh
. "$TOP_SRCDIR/tests/lib/gnupg.sh"
# The desk decides when its Postfix is cleaned up, not an EXIT trap.
_postfix_hooked=yes
# shellcheck source=tests/lib/postfix.sh
. "$TOP_SRCDIR/tests/lib/postfix.sh"
# shellcheck source=tests/lib/staffmail.sh
. "$TOP_SRCDIR/tests/lib/staffmail.sh"

# shellcheck disable=SC2034 # for the scripts that source this
DESK_KEY=F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75
DISCOVERER_KEY=510F47EB564249207CD29EFAB6951DB633DA42E0
# shellcheck disable=SC2034
OPERATOR_KEY=18FE12D12DA237954DB2293C8DDF059BAEF472E6
ALICE_KEY=81291E614864BD4B40862A479F3A85E79FA9BE53
DESK_USER=${DESK_USER:-nobody}
DESK=${DESK:-}
_desk_own=no

_desk_die() {
	echo "desk.sh: $*" >&2
	return 1
}

# _desk_home DIR KEY...: a GnuPG home at DIR with the test keys KEY...
_desk_home() {
	local dir=$1
	shift
	mkdir -p "$dir" && chmod 700 "$dir" || return 1
	printf '%s\n' auto-expand-secmem allow-loopback-pinentry >"$dir/gpg-agent.conf"
	printf '%s\n' 'pinentry-mode loopback' 'trust-model always' >"$dir/gpg.conf"
	GNUPGHOME=$dir gnupg_import "$@" || return 1
	GNUPGHOME=$dir gpgconf --kill gpg-agent >/dev/null 2>&1 || :
}

desk_setup() {
	[ "$(id -u)" -eq 0 ] || { _desk_die "must run as root (a private Postfix)"; return 1; }
	local tool
	for tool in swaks postfix gpg jq runuser python3 iconv; do
		command -v "$tool" >/dev/null || { _desk_die "$tool is not installed"; return 1; }
	done
	if [ -n "${1:-}" ]; then
		DESK=$1
		mkdir -p "$DESK" || return 1
	else
		DESK=$(mktemp -d /tmp/todoke-desk.XXXXXX) || return 1
		_desk_own=yes
	fi
	DESK=$(cd "$DESK" && pwd)
	export DESK
	chmod 755 "$DESK"
	mkdir -p "$DESK/log" "$DESK/out" "$DESK/bin" "$DESK/mail" "$DESK/gnupg" || return 1
	: >"$DESK/accepted"
	mkdir -m 750 "$DESK/state" && chown "$DESK_USER:" "$DESK/state" || return 1

	_desk_home "$DESK/gnupg/desk" desk-cv25519 discoverer.pub operator.pub alice.pub ||
		return 1
	chown -R "$DESK_USER:" "$DESK/gnupg/desk"
	_desk_home "$DESK/gnupg/world" discoverer operator alice desk-cv25519.pub || return 1

	# The processor hands notices to the private Postfix's sendmail.
	mkdir -p "$DESK/postfix"
	cat >"$DESK/bin/sendmail" <<-EOF
	#!/bin/sh
	# outbound.sendmail of this desk: Postfix's sendmail, private instance.
	exec /usr/sbin/sendmail -C "$DESK/postfix/etc" "\$@"
	EOF
	chmod 755 "$DESK/bin/sendmail"

	DESK_MILTER_PORT=$(postfix_free_port) || return 1
	cat >"$DESK/todoke.conf" <<-EOF
	# todoke.conf of a private demo/test desk (tests/lib/desk.sh).
	paths: {
	  state_dir = "$DESK/state";
	  rules_dir = "$TOP_SRCDIR/rules";
	};
	gpg: {
	  home = "$DESK/gnupg/desk";
	  time_budget_ms = 30000;
	};
	desk: {
	  # The coordinator (JPCERT/CC's role) is another organisation.
	  coordinator_address = "coordinator@example.org";
	};
	milter: {
	  socket = "inet:$DESK_MILTER_PORT@127.0.0.1";
	  user = "$DESK_USER";
	};
	spool: {
	  map_size = 268435456;
	};
	processor: {
	  store_map_size = 268435456L;
	};
	outbound: {
	  sendmail = "$DESK/bin/sendmail";
	};
	staff: {
	  keys = ( { fingerprint = "$ALICE_KEY"; address = "alice@desk.example"; role = "lead"; } );
	};
	EOF

	postfix_setup "$DESK/postfix" || return 1
	postfix_maildir_setup example.org operator.example || return 1
	chown postfix:postfix "$DESK/mail"
	# Desk mail and notices in two Maildirs under $DESK/mail.
	printf '%s\n' '/^vuln-[^@]*@localhost$/ desk/' '/./ outbound/' >"$PF_CONF/mailboxes"
	postfix_conf "virtual_mailbox_base = $DESK/mail" \
		"virtual_mailbox_maps = regexp:$PF_CONF/mailboxes" || return 1
	postfix_milter "inet:127.0.0.1:$DESK_MILTER_PORT" || return 1
	# Postfix's own bounces (to the VERP address of a notice) pass the
	# milter as well; so does mail submitted with sendmail(1).
	postfix_conf "non_smtpd_milters = \$smtpd_milters" \
		"internal_mail_filter_classes = bounce" \
		"milter_end_of_data_macros = i" \
		"bounce_queue_lifetime = 0" || return 1
	_desk_save_env
}

_desk_save_env() {
	{
		printf 'DESK=%q\n' "$DESK"
		printf 'DESK_USER=%q\n' "$DESK_USER"
		printf 'DESK_MILTER_PORT=%q\n' "$DESK_MILTER_PORT"
		printf 'PF_DIR=%q PF_PORT=%q PF_CONF=%q PF_QUEUE=%q PF_MAILLOG=%q\n' \
			"$PF_DIR" "$PF_PORT" "$PF_CONF" "$PF_QUEUE" "$PF_MAILLOG"
		printf 'DESK_MILTER_PID=%q\n' "${DESK_MILTER_PID:-}"
	} >"$DESK/desk.env"
}

desk_attach() {
	[ -f "$1/desk.env" ] || { _desk_die "$1 is not a desk (no desk.env)"; return 1; }
	# shellcheck source=/dev/null
	. "$1/desk.env"
	export DESK PF_DIR PF_PORT PF_CONF PF_QUEUE PF_MAILLOG
}

desk_start() {
	local milter=$TOP_BUILDDIR/milter/todoke-milter
	[ -x "$milter" ] || { _desk_die "$milter is not built"; return 1; }
	# setsid: a kept desk outlives the shell that started it.
	setsid "$milter" -f -c "$DESK/todoke.conf" >>"$DESK/log/milter.log" 2>&1 </dev/null &
	DESK_MILTER_PID=$!
	for _ in $(seq 300); do
		[ -n "$(ss -Hltn "sport = :$DESK_MILTER_PORT")" ] && break
		kill -0 "$DESK_MILTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$(ss -Hltn "sport = :$DESK_MILTER_PORT")" ]; then
		tail -n 20 "$DESK/log/milter.log" >&2
		_desk_die "todoke-milter did not start"
		return 1
	fi
	_desk_save_env
	postfix_start || return 1
}

desk_stop() {
	[ -n "$DESK" ] || return 0
	if [ -n "${DESK_MILTER_PID:-}" ] && kill -0 "$DESK_MILTER_PID" 2>/dev/null; then
		kill -TERM "$DESK_MILTER_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$DESK_MILTER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$DESK_MILTER_PID" 2>/dev/null || :
	fi
	DESK_MILTER_PID=
	[ -d "$DESK/gnupg/desk" ] && runuser -u "$DESK_USER" -- \
		env GNUPGHOME="$DESK/gnupg/desk" gpgconf --kill gpg-agent >/dev/null 2>&1
	[ -d "$DESK/gnupg/world" ] && GNUPGHOME="$DESK/gnupg/world" gpgconf --kill gpg-agent \
		>/dev/null 2>&1
	postfix_cleanup
	return 0
}

desk_cleanup() {
	desk_stop
	if [ "$_desk_own" = yes ]; then
		case $DESK in
		/tmp/todoke-desk.*) rm -rf "$DESK" ;;
		esac
	fi
	DESK=
	return 0
}

desk_send() { # name from to file
	local name=$1 from=$2 to=$3 file=$4
	swaks --server "127.0.0.1:$PF_PORT" --helo client.example.org \
		--from "$from" --to "$to" --data "@$file" --timeout 90 \
		>"$DESK/log/swaks.$name.out" 2>&1
	DESK_REPLY=$(awk '/^ -> \.$/ { if ((getline line) > 0) print line; exit }' \
		"$DESK/log/swaks.$name.out" | sed 's/^<[-*~ ]*//')
	DESK_QID=$(printf '%s\n' "$DESK_REPLY" | sed -n 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p')
	[ -n "$DESK_QID" ] || return 1
	printf '%s %s\n' "$DESK_QID" "$to" >>"$DESK/accepted"
}

desk_mail() { # name from to subject [header...]
	local name=$1 from=$2 to=$3 subject=$4
	shift 4
	{
		printf 'From: %s\nTo: %s\nSubject: %s\n' "$from" "$to" "$subject"
		printf 'Message-ID: <%s.%s@world.example>\n' "$name" "$$"
		printf 'Date: %s\n' "$(date -R)"
		local h
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n\n'
		cat
	} >"$DESK/out/$name.eml"
}

desk_report() { # name from subject
	local name=$1 from=$2 subject=$3 addr
	addr=$(printf '%s' "$from" | sed 's/.*<\(.*\)>.*/\1/')
	{
		printf 'Content-Type: text/plain; charset=UTF-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n\n'
		cat
	} >"$DESK/out/$name.inner"
	GNUPGHOME=$DESK/gnupg/world gpg --batch --quiet --yes --armor --sign --encrypt \
		-u "$DISCOVERER_KEY" -r "$DESK_KEY" --output "$DESK/out/$name.asc" \
		"$DESK/out/$name.inner" || return 1
	{
		printf 'From: %s\nTo: vuln-info@localhost\nSubject: %s\n' "$from" "$subject"
		printf 'Message-ID: <%s.%s@world.example>\nDate: %s\n' "$name" "$$" "$(date -R)"
		printf 'MIME-Version: 1.0\n'
		printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\n'
		printf ' boundary="=-=enc=-="\n\n'
		printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n'
		printf -- '--=-=enc=-=\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n'
		printf -- '--=-=enc=-=\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n'
		cat "$DESK/out/$name.asc"
		printf '\n--=-=enc=-=--\n'
	} >"$DESK/out/$name.eml"
	desk_send "$name" "$addr" vuln-info@localhost "$DESK/out/$name.eml"
}

desk_staff() { # name when
	local tap_tmp=$DESK/out SIGN_HOME=$DESK/gnupg/world
	staff_clearsigned "$1" 'Alice <alice@desk.example>' alice@desk.example "$2" commands ||
		return 1
	desk_send "$1" alice@desk.example vuln-control@localhost "$DESK/out/$1.eml"
}

desk_ctl() {
	runuser -u "$DESK_USER" -- "$TOP_BUILDDIR/processor/todokectl" -c "$DESK/todoke.conf" "$@"
}

desk_wait_queue() {
	postfix_wait_queue_empty "${1:-60}" || { _desk_die "Postfix's queue is not empty"; return 1; }
}

desk_process() { # iso
	desk_wait_queue 60 || return 1
	DESK_NOW=$1
	echo "--- --once --now $1" >>"$DESK/log/processor.log"
	runuser -u "$DESK_USER" -- "$TOP_BUILDDIR/processor/todoke-processor" \
		-c "$DESK/todoke.conf" -f --once --now "$1" >>"$DESK/log/processor.log" 2>&1 ||
		{ tail -n 20 "$DESK/log/processor.log" >&2; _desk_die "the processor failed"; return 1; }
	desk_wait_queue 60
}

# The staff's notices go to vuln-control@, through the milter, back into
# the spool: apply them too (at the last simulated instant), until every
# mail Postfix delivered to the desk is applied.
desk_settle() {
	for _ in 1 2 3; do
		desk_wait_queue 60 || return 1
		[ -z "$(comm -23 <(desk_desk_qids) <(desk_applied_qids | sort -u))" ] && return 0
		desk_process "$DESK_NOW" || return 1
	done
}

desk_notice_file() { # msgid
	local f
	f=$(grep -l -i -F "Message-ID: <$1>" "$DESK"/mail/outbound/new/* 2>/dev/null | head -n 1)
	[ -n "$f" ] && printf '%s\n' "$f"
}

desk_subject() {
	python3 "$TOP_SRCDIR/tests/lib/pgpmime.py" subject "$1"
}

# The text parts of a MIME message, decoded, on stdout.
_desk_text() {
	python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_maintype() == "text":
        print(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8", "replace"))' "$1"
}

desk_open_notice() { # file out
	local f=$1 out=$2 st
	# shellcheck disable=SC2034 # for the caller
	NOTICE_CRYPTO='' NOTICE_SIGNER=''
	# shellcheck disable=SC2034
	if grep -qi '^Content-Type: multipart/encrypted' "$f"; then
		NOTICE_CRYPTO=encrypted
		GNUPGHOME=$DESK/gnupg/world gpg --batch --status-fd 2 --decrypt "$f" \
			>"$out.mime" 2>"$out.status" || return 1
	elif grep -qi '^Content-Type: multipart/signed' "$f"; then
		NOTICE_CRYPTO=signed
		python3 "$TOP_SRCDIR/tests/lib/pgpmime.py" signed "$f" "$out.mime" "$out.sig" ||
			return 1
		GNUPGHOME=$DESK/gnupg/world gpg --batch --status-fd 2 --verify "$out.sig" \
			"$out.mime" 2>"$out.status" || return 1
	else
		return 1
	fi
	st=$(cat "$out.status")
	NOTICE_SIGNER=$(printf '%s\n' "$st" | sed -n 's/.*VALIDSIG [0-9A-F]* .* \([0-9A-F]\{40\}\)$/\1/p' | head -n 1)
	_desk_text "$out.mime" >"$out"
	printf '%s\n' "$st" | grep -q '^\[GNUPG:\] GOODSIG ' && [ "$NOTICE_SIGNER" = "$DESK_KEY" ]
}

desk_outbox_id() { # case notice [audience]
	desk_ctl outbox --json | jq -r --arg c "$1" --arg n "$2" --arg a "${3:-}" \
		'[.[] | select(.case == $c and .notice == $n and ($a == "" or .audience == $a))] | last | .message_id // empty'
}

desk_desk_qids() {
	# cleanup logs the queue id for every mail; qmgr/virtual log its
	# recipients. A desk recipient is vuln-*@localhost. The desk's own
	# notices to its staff (envelope sender vuln-bounce+TOKEN@) are handed
	# back by the milter, not captured.
	sed -n 's/.*postfix-test\/qmgr\[[0-9]*\]: \([0-9A-F]\{6,\}\): from=<vuln-bounce+[^>]*>.*/\1/p' \
		"$PF_MAILLOG" | sort -u >"$DESK/own-qids"
	sed -n 's/.*postfix-test\/[a-z]*\[[0-9]*\]: \([0-9A-F]\{6,\}\): to=<vuln-[^>]*@localhost>.*status=sent.*/\1/p' \
		"$PF_MAILLOG" | sort -u | comm -23 - "$DESK/own-qids"
}

desk_applied_qids() {
	# One line per spool entry applied (a command mail is logged twice).
	sed -n 's/.*\(spool entry\|command mail\) \([0-9]*\) (queue id \([0-9A-Za-z]*\)[,)].*/\2 \3/p' \
		"$DESK/log/processor.log" | sort -u | awk '{ print $2 }' | sort
}
