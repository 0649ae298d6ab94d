# gnupg.sh - temporary GNUPGHOMEs with todoke's INSECURE test keys. Source it
# (POSIX sh, bash or dash; works under set -u and set -e).
#
#   gnupg_setup [KEY...]       make a new home, export it as $GNUPGHOME, import
#                              KEY..., remove it again when the shell exits
#   gnupg_new_home [KEY...]    the same without the exit hook: for a program
#                              (such as tests/unit/test_pgp) that cleans up
#                              itself with gnupg_cleanup HOME
#   gnupg_cleanup [HOME...]    kill the gpg-agent of each HOME and remove it;
#                              without arguments every home made by this shell
#   gnupg_import KEY...        import more keys into $GNUPGHOME
#   gnupg_keydir               print the directory of the test keys
#
# KEY is the name of a key in tests/keys, the part of the file name before
# ".INSECURE" (desk-cv25519, desk-rsa3072, discoverer, operator, alice,
# bob-revoked, outsider, carol-expired):
#   NAME       its secret key and its public key
#   NAME.pub   only its public key (so the home cannot decrypt or sign with it)
#   NAME.sec   only its secret key export; for bob-revoked that is the key as
#              it was before its revocation, to make signatures with
# Without KEY arguments every key is imported, secret and public.
#
# A home is mktemp -d /tmp/tdk-gpg.XXXXXX (short: the agent's socket path has
# a length limit), mode 0700, with
#   gpg-agent.conf  auto-expand-secmem (parallel decryptions otherwise fail
#                   now and then with "Cannot allocate memory"),
#                   allow-loopback-pinentry
#   gpg.conf        pinentry-mode loopback, trust-model always
# The test keys have no passphrase; no pinentry or terminal is ever used.
#
# The keys are found in $TOP_SRCDIR/tests/keys when TOP_SRCDIR is set (the
# test harness sets it), else relative to this file (bash) or to the calling
# script ($0) or the current directory.

_gnupg_homes=${_gnupg_homes:-}
_gnupg_hooked=${_gnupg_hooked:-no}

gnupg_keydir() {
	if [ -n "${TOP_SRCDIR:-}" ] && [ -d "$TOP_SRCDIR/tests/keys" ]; then
		printf '%s\n' "$TOP_SRCDIR/tests/keys"
		return 0
	fi
	_gnupg_d=
	if [ -n "${BASH_VERSION:-}" ]; then
		# shellcheck disable=SC3028,SC3054
		_gnupg_d=$(dirname "${BASH_SOURCE[0]:-.}")/../keys
		[ -d "$_gnupg_d" ] && { (cd "$_gnupg_d" && pwd); return 0; }
	fi
	for _gnupg_d in "$(dirname "$0")/../keys" "$(dirname "$0")/../../tests/keys" \
		"$(dirname "$0")/../../../tests/keys" ./tests/keys ../keys ../../tests/keys; do
		if [ -f "$_gnupg_d/make-keys" ]; then
			(cd "$_gnupg_d" && pwd)
			return 0
		fi
	done
	echo "gnupg.sh: cannot find tests/keys (set TOP_SRCDIR)" >&2
	return 1
}

gnupg_import() {
	_gnupg_kd=$(gnupg_keydir) || return 1
	if [ $# -eq 0 ]; then
		for _gnupg_f in "$_gnupg_kd"/*.INSECURE.pub.asc; do
			_gnupg_f=${_gnupg_f##*/}
			set -- "$@" "${_gnupg_f%.INSECURE.pub.asc}"
		done
	fi
	for _gnupg_k in "$@"; do
		case $_gnupg_k in
		*.pub) set -- "$_gnupg_kd/${_gnupg_k%.pub}.INSECURE.pub.asc" ;;
		*.sec) set -- "$_gnupg_kd/${_gnupg_k%.sec}.INSECURE.sec.asc" ;;
		*) set -- "$_gnupg_kd/$_gnupg_k.INSECURE.sec.asc" "$_gnupg_kd/$_gnupg_k.INSECURE.pub.asc" ;;
		esac
		for _gnupg_f in "$@"; do
			if [ ! -f "$_gnupg_f" ]; then
				echo "gnupg.sh: no test key $_gnupg_k ($_gnupg_f)" >&2
				return 1
			fi
			if ! gpg --batch --no-tty --quiet --import "$_gnupg_f" 2>"$GNUPGHOME/import.err"; then
				cat "$GNUPGHOME/import.err" >&2
				return 1
			fi
		done
	done
	rm -f "$GNUPGHOME/import.err"
}

gnupg_new_home() {
	GNUPGHOME=$(mktemp -d /tmp/tdk-gpg.XXXXXX) || return 1
	export GNUPGHOME
	_gnupg_homes="$_gnupg_homes $GNUPGHOME"
	chmod 700 "$GNUPGHOME" || return 1
	printf '%s\n' auto-expand-secmem allow-loopback-pinentry >"$GNUPGHOME/gpg-agent.conf"
	printf '%s\n' 'pinentry-mode loopback' 'trust-model always' >"$GNUPGHOME/gpg.conf"
	gnupg_import "$@"
}

gnupg_cleanup() {
	# The homes are mktemp paths under /tmp: no blanks, no glob characters.
	# shellcheck disable=SC2086
	[ $# -gt 0 ] || set -- $_gnupg_homes
	for _gnupg_h in "$@"; do
		case $_gnupg_h in
		/tmp/tdk-gpg.*) ;;
		*)
			echo "gnupg.sh: not removing $_gnupg_h: not a test GNUPGHOME" >&2
			continue
			;;
		esac
		[ -d "$_gnupg_h" ] || continue
		GNUPGHOME=$_gnupg_h gpgconf --kill gpg-agent >/dev/null 2>&1 || :
		rm -rf "$_gnupg_h"
	done
	_gnupg_homes=
	return 0
}

# Adds gnupg_cleanup to the EXIT trap, keeping a trap the caller has set
# (tests/integration/tap.sh sets one). dash cannot read traps through $(trap),
# so the listing goes through a file.
_gnupg_hook_exit() {
	[ "$_gnupg_hooked" = no ] || return 0
	_gnupg_t=$(mktemp /tmp/tdk-trap.XXXXXX) || return 1
	trap >"$_gnupg_t"
	_gnupg_prev=$(awk '/^trap -- / { cur = $0 } !/^trap -- / { cur = cur "\n" $0 }
		cur ~ / EXIT$/ { print substr(cur, 9, length(cur) - 13); exit }' "$_gnupg_t")
	rm -f "$_gnupg_t"
	# The previous trap is listed as a single-quoted word: let eval unquote it.
	_gnupg_prev_cmd=
	[ -z "$_gnupg_prev" ] || eval "_gnupg_prev_cmd=$_gnupg_prev"
	# shellcheck disable=SC2064 # the previous trap is inlined now, on purpose
	trap "gnupg_cleanup; ${_gnupg_prev_cmd:-:}" EXIT
	_gnupg_hooked=yes
}

gnupg_setup() {
	gnupg_new_home "$@" || return 1
	_gnupg_hook_exit
}
