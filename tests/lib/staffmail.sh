# staffmail.sh - signed staff command mail, made at test time with the
# INSECURE test keys (tests/keys). Source it after tests/lib/gnupg.sh
# (POSIX sh). Every function writes DIR/NAME.eml, DIR being $tap_tmp.
#
#   staffmail_setup DESK_HOME  make a signing GnuPG home ($SIGN_HOME) with
#                         the secret keys of alice, bob-revoked (as it was
#                         before its revocation), outsider and carol-expired
#                         and the desk's public key; import those signers'
#                         public keys into DESK_HOME (the milter's keyring).
#                         $GNUPGHOME is left as it was.
#   staff_clearsigned NAME FROM SIGNER WHEN SUBJECT   (commands on stdin)
#                         a text/plain mail to the control address whose
#                         body is the commands clearsigned; $STAFF_BEFORE,
#                         when set, is text put before the signed block
#   staff_pgpmime NAME FROM SIGNER WHEN SUBJECT [PROTECTED_SUBJECT]
#                         a PGP/MIME (multipart/signed) mail; with
#                         PROTECTED_SUBJECT the signed part carries that
#                         Subject as a protected header
#   staff_encrypted NAME FROM SIGNER WHEN SUBJECT [INNER_SUBJECT]
#                         a PGP/MIME mail encrypted to the desk and signed
#                         in one (the signature is inside the encryption)
#   staff_plain NAME FROM SUBJECT     an unsigned mail (commands on stdin)
#
# SIGNER is alice@desk.example, bob@desk.example, outsider@example.net or
# carol@desk.example. WHEN is the signature time, an ISO 8601 instant
# (gpg runs with --faked-system-time WHEN!, so it is exact); carol's key
# was only valid on 2020-01-01 UTC. The mail's Message-ID is
# <NAME.PID@staff.example>; its Date is fixed.

staffmail_setup() {
	_sm_desk=$1
	gnupg_new_home alice bob-revoked.sec outsider carol-expired desk-cv25519.pub ||
		return 1
	SIGN_HOME=$GNUPGHOME
	GNUPGHOME=$_sm_desk
	export GNUPGHOME
	gnupg_import alice.pub bob-revoked.pub outsider.pub carol-expired.pub
}

# _sm_gpg WHEN SIGNER ARGS...: gpg in the signing home at time WHEN.
_sm_gpg() {
	_sm_t=$(date -u -d "$1" +%Y%m%dT%H%M%S) || return 1
	_sm_u=$2
	shift 2
	GNUPGHOME=$SIGN_HOME gpg --batch --no-tty --quiet --yes --trust-model always \
		--faked-system-time "$_sm_t!" --digest-algo SHA256 \
		--local-user "<$_sm_u>" "$@" 2>>"$tap_tmp/gpg.log"
}

_sm_headers() { # from subject content-type-lines...
	_sm_from=$1 _sm_subject=$2
	shift 2
	printf 'From: %s\nTo: vuln-control@localhost\nSubject: %s\n' "$_sm_from" "$_sm_subject"
	printf 'Message-ID: <%s.%s@staff.example>\n' "$_sm_name" "$$"
	printf 'Date: Mon, 01 Mar 2027 10:00:00 +0900\nMIME-Version: 1.0\n'
	for _sm_h in "$@"; do printf '%s\n' "$_sm_h"; done
	printf '\n'
}

staff_plain() { # name from subject
	_sm_name=$1
	{
		_sm_headers "$2" "$3" 'Content-Type: text/plain; charset=UTF-8' \
			'Content-Transfer-Encoding: 8bit'
		cat
	} >"$tap_tmp/$1.eml"
}

staff_clearsigned() { # name from signer when subject
	_sm_name=$1
	cat >"$tap_tmp/$1.txt"
	_sm_gpg "$4" "$3" --clearsign <"$tap_tmp/$1.txt" >"$tap_tmp/$1.asc" || return 1
	{
		_sm_headers "$2" "$5" 'Content-Type: text/plain; charset=UTF-8' \
			'Content-Transfer-Encoding: 8bit'
		[ -z "${STAFF_BEFORE:-}" ] || printf '%s\n\n' "$STAFF_BEFORE"
		cat "$tap_tmp/$1.asc"
	} >"$tap_tmp/$1.eml"
}

# The CRLF form of an entity without its last line break (RFC 3156).
_sm_canonical() { sed 's/$/\r/' | head -c -2; }

staff_pgpmime() { # name from signer when subject [protected-subject]
	_sm_name=$1
	{
		printf 'Content-Type: text/plain; charset=UTF-8'
		[ -z "${6:-}" ] || printf '; protected-headers="v1"'
		printf '\nContent-Transfer-Encoding: base64\n'
		[ -z "${6:-}" ] || printf 'Subject: %s\n' "$6"
		printf '\n'
		base64 -w 76
	} >"$tap_tmp/$1.ent"
	_sm_canonical <"$tap_tmp/$1.ent" | _sm_gpg "$4" "$3" --armor --detach-sign \
		>"$tap_tmp/$1.sig" || return 1
	{
		_sm_headers "$2" "$5" 'Content-Type: multipart/signed; micalg=pgp-sha256;' \
			' protocol="application/pgp-signature"; boundary="=-=sig=-="'
		printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n'
		printf -- '--=-=sig=-=\n'
		cat "$tap_tmp/$1.ent"
		printf -- '--=-=sig=-=\n'
		printf 'Content-Type: application/pgp-signature; name="signature.asc"\n\n'
		cat "$tap_tmp/$1.sig"
		printf '\n--=-=sig=-=--\n'
	} >"$tap_tmp/$1.eml"
}

staff_encrypted() { # name from signer when subject [inner-subject]
	_sm_name=$1
	{
		printf 'Content-Type: text/plain; charset=UTF-8'
		[ -z "${6:-}" ] || printf '; protected-headers="v1"'
		printf '\nContent-Transfer-Encoding: 8bit\n'
		[ -z "${6:-}" ] || printf 'Subject: %s\n' "$6"
		printf '\n'
		cat
	} >"$tap_tmp/$1.ent"
	_sm_gpg "$4" "$3" --armor --sign --encrypt --recipient vuln-info@desk.example \
		<"$tap_tmp/$1.ent" >"$tap_tmp/$1.pgp" || return 1
	{
		_sm_headers "$2" "$5" 'Content-Type: multipart/encrypted;' \
			' protocol="application/pgp-encrypted"; boundary="=-=enc=-="'
		printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n'
		printf -- '--=-=enc=-=\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n'
		printf -- '--=-=enc=-=\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n'
		cat "$tap_tmp/$1.pgp"
		printf '\n--=-=enc=-=--\n'
	} >"$tap_tmp/$1.eml"
}
