#!/bin/sh
# party-keys.t - a party's OpenPGP key taken from its mail: a key attached
# to a contact reply, or sent in an Autocrypt header, is imported into the
# desk's GnuPG home and the stage-2 notice that follows is encrypted to it
# (the operator decrypts it with real gpg); a key of another address, an
# Autocrypt addr that is not the From, and a key in mail from someone who
# is not a party are ignored with a timeline note; a key staff set is
# never replaced (staff are told); a held stage 2 goes out once the key
# comes; the answer to an encrypted, signed report is encrypted to the
# key that signed it.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

OPERATOR=18FE12D12DA237954DB2293C8DDF059BAEF472E6
OUTSIDER=B8227851D0ECE9D26122A705E27707614EFC0225
DISCOVERER=510F47EB564249207CD29EFAB6951DB633DA42E0
OPADDR=security@operator.example
KEYS=$TOP_SRCDIR/tests/keys
TDK_CAPTURE_DIR="$tap_tmp/sent"
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
opts="$opts -o outbound.sendmail=$TOP_SRCDIR/tests/lib/sendmail-capture"
deskhome=$GNUPGHOME
gnupg_new_home operator desk-cv25519.pub >/dev/null 2>&1 ||
	{ echo "Bail out! cannot make the operator's GnuPG home"; exit 1; }
opghome=$GNUPGHOME
gnupg_new_home discoverer desk-cv25519.pub >/dev/null 2>&1 ||
	{ echo "Bail out! cannot make the discoverer's GnuPG home"; exit 1; }
dischome=$GNUPGHOME
GNUPGHOME=$deskhome
export GNUPGHOME
# The desk starts without the operator's key: it must come by mail.
gpg --batch --yes --delete-keys "$OPERATOR" >/dev/null 2>&1

desk_has() { gpg --batch --list-keys "$1" >/dev/null 2>&1 && echo yes || echo no; }
timeline() { # case
	# shellcheck disable=SC2086
	"$todokectl" $opts timeline "$1" --json | jq -r '.[] | "\(.type): \(.text)"'
}
# The captured mail of a case's newest notice of that name.
mail_of() { # case notice
	grep -l "^Message-Id: <$(last_notice_id "$1" "$2")>" "$TDK_CAPTURE_DIR"/*.eml
}
# open_case N: report N, accepted (web, the site on operator.example),
# the operator party (with "key FPR" when given), stage 1 sent.
open_case() { # n iso [key]
	mail_to "report$1" vuln-info@localhost 'Taro Yamada <taro@discoverer.example>' \
		'report' <<'EOF2'
https://www.operator.example/login has an XSS.
EOF2
	feed "report$1" vuln-info@localhost taro@discoverer.example
	run_at "$2"
	do_at "$2" "accept IPA#0000000$1 web" \
		"set IPA#0000000$1 url https://www.operator.example/login" \
		"party IPA#0000000$1 operator $OPADDR${3:+ key $3}" \
		"send IPA#0000000$1 stage1"
}
# A reply from the operator: text, then an attached key file when given.
reply_with_key() { # name case keyfile [header...]
	_n=$1 _c=$2 _k=$3
	shift 3
	{
		printf 'From: Operator <%s>\nTo: vuln-contact@localhost\n' "$OPADDR"
		printf 'Subject: Re: [%s] contact\nMessage-ID: <%s.%s@operator.example>\n' "$_c" "$_n" "$$"
		printf 'Date: Tue, 02 Mar 2027 10:00:00 +0900\n'
		for _h in "$@"; do printf '%s\n' "$_h"; done
		printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
		printf -- '--b1\nContent-Type: text/plain; charset=UTF-8\n\n'
		printf 'We are the contact. Our key is attached.\n'
		if [ -n "$_k" ]; then
			printf -- '--b1\nContent-Type: application/pgp-keys; name="key.asc"\n'
			printf 'Content-Disposition: attachment; filename="key.asc"\n\n'
			cat "$_k"
		fi
		printf -- '--b1--\n'
	} >"$tap_tmp/$_n.eml"
	feed "$_n" vuln-contact@localhost "$OPADDR"
}
decrypts_for() { # home file
	GNUPGHOME=$1 gpg --batch --status-fd 2 --decrypt "$2" 2>&1 >/dev/null |
		grep -c 'DECRYPTION_OKAY'
}

# ---- 1. a key attached to the contact reply
open_case 1 2027-03-01T10:00:00+09:00
reply_with_key reply1 'IPA#00000001' "$KEYS/operator.INSECURE.pub.asc"
run_at 2027-03-02T10:00:00+09:00
tap_is "the attached key is recorded on the operator" \
	"$(case_field IPA#00000001 '.parties[] | select(.role_name == "operator") | "\(.key) \(.key_source)"')" \
	"$OPERATOR mail"
tap_is "and imported into the desk's GnuPG home" "$(desk_has $OPERATOR)" yes
tap_like "the timeline says so" "$(timeline IPA#00000001)" \
	"key: the operator's key is now $OPERATOR \\(attached key\\)"
tap_is "stage 2 went out" \
	"$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.case == "IPA#00000001" and .notice == "stage2")] | last | .state')" sent
st2=$(mail_of IPA#00000001 stage2)
tap_like "stage 2 is multipart/encrypted" "$(cat "$st2")" 'Content-Type: multipart/encrypted'
tap_is "the operator decrypts it with its secret key" "$(decrypts_for "$opghome" "$st2")" 1
ctl case IPA#00000001
tap_like "todokectl case shows where the key came from" "$out" \
	"operator +$OPADDR lang ja key $OPERATOR \\(from mail\\)"

# ---- 2. an Autocrypt header
gpg --batch --yes --delete-keys "$OPERATOR" >/dev/null 2>&1
open_case 2 2027-03-03T10:00:00+09:00
keydata=$(GNUPGHOME=$opghome gpg --batch --export "$OPERATOR" | base64 -w 60 | sed 's/^/ /')
reply_with_key reply2 'IPA#00000002' '' \
	"Autocrypt: addr=$OPADDR; prefer-encrypt=mutual; keydata=
$keydata"
run_at 2027-03-04T10:00:00+09:00
tap_is "the Autocrypt key is recorded" \
	"$(case_field IPA#00000002 '.parties[] | select(.role_name == "operator") | "\(.key) \(.key_source)"')" \
	"$OPERATOR autocrypt"
st2=$(mail_of IPA#00000002 stage2)
tap_like "stage 2 of case 2 is encrypted" "$(cat "$st2")" 'Content-Type: multipart/encrypted'
tap_is "and the operator decrypts it" "$(decrypts_for "$opghome" "$st2")" 1

# ---- 3. refused: a key of another address, an Autocrypt addr that is not
# the From, a key from someone who is not a party
gpg --batch --yes --delete-keys "$OPERATOR" >/dev/null 2>&1
open_case 3 2027-03-05T10:00:00+09:00
reply_with_key reply3 'IPA#00000003' "$KEYS/outsider.INSECURE.pub.asc" \
	"Autocrypt: addr=other@operator.example; keydata=
$keydata"
run_at 2027-03-08T10:00:00+09:00
tl=$(timeline IPA#00000003)
tap_like "a key of another address is ignored, with a note" "$tl" \
	"key-refused: attached key in mail from the operator ignored: no user ID of key $OUTSIDER is the sender's address"
tap_like "an Autocrypt addr that is not the From is ignored" "$tl" \
	'key-refused: Autocrypt header in mail from the operator ignored: its addr other@operator.example is not the sender.s From address'
tap_is "the operator has no key" \
	"$(case_field IPA#00000003 '.parties[] | select(.role_name == "operator") | .key')" null
tap_is "nothing was imported" "$(desk_has $OUTSIDER) $(desk_has $OPERATOR)" "no no"
tap_is "stage 2 is held for want of a key" \
	"$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.case == "IPA#00000003" and .notice == "stage2")] | last | .state')" held
mail_to stranger vuln-contact@localhost 'Mallory <mallory@elsewhere.example>' \
	'Re: [IPA#00000003] our key' "Autocrypt: addr=mallory@elsewhere.example; keydata=
$keydata" </dev/null
feed stranger vuln-contact@localhost mallory@elsewhere.example
run_at 2027-03-08T11:00:00+09:00
tap_like "a key from someone who is not a party is ignored, with a note" \
	"$(timeline IPA#00000003)" \
	'key-refused: Autocrypt header in mail from mallory@elsewhere.example, who is not a party, ignored'
# The operator then sends its key: the held stage 2 goes out, encrypted.
reply_with_key reply3b 'IPA#00000003' "$KEYS/operator.INSECURE.pub.asc"
run_at 2027-03-08T12:00:00+09:00
tap_like "the held stage 2 is released" "$(timeline IPA#00000003)" \
	'notice-released: stage2 to the operator is no longer held: the key is known'
st2=$(mail_of IPA#00000003 stage2)
tap_is "and the operator decrypts it" "$(decrypts_for "$opghome" "$st2")" 1

# ---- 4. a key staff set wins
gnupg_import outsider.pub >/dev/null 2>&1
open_case 4 2027-03-09T10:00:00+09:00 "$OUTSIDER"
reply_with_key reply4 'IPA#00000004' "$KEYS/operator.INSECURE.pub.asc"
run_at 2027-03-10T10:00:00+09:00
tap_is "the staff-set key stays" \
	"$(case_field IPA#00000004 '.parties[] | select(.role_name == "operator") | "\(.key) \(.key_source)"')" \
	"$OUTSIDER staff"
tap_is "staff are told of the offered key" "$(attention IPA#00000004 key-offered)" 1
tap_like "the timeline says which key stays" "$(timeline IPA#00000004)" \
	"key-offered: the operator offered key $OPERATOR \\(attached key\\); the key staff set, $OUTSIDER, stays"
st2=$(mail_of IPA#00000004 stage2)
tap_like "stage 2 of case 4 is encrypted" "$(cat "$st2")" 'Content-Type: multipart/encrypted'
tap_is "stage 2 is not readable with the offered key" "$(decrypts_for "$opghome" "$st2")" 0

# ---- 5. the answer to an encrypted report is encrypted (the key that
# signed it inside the encryption)
cp "$TOP_SRCDIR/tests/corpus/crypto-pgpmime-encrypted-report.eml" "$tap_tmp/encreport.eml"
feed encreport vuln-info@localhost discoverer@example.org
run_at 2027-03-11T10:00:00+09:00
tap_is "the signing key is recorded on the discoverer" \
	"$(case_field IPA#00000005 '.parties[] | select(.role_name == "discoverer") | "\(.key) \(.key_source)"')" \
	"$DISCOVERER signature"
ack=$(mail_of IPA#00000005 acknowledgement)
tap_like "the acknowledgement is encrypted" "$(cat "$ack")" 'Content-Type: multipart/encrypted'
tap_is "the discoverer decrypts it" "$(decrypts_for "$dischome" "$ack")" 1
# A plain report from the same address is answered signed only.
mail_to plain vuln-info@localhost 'Discoverer <discoverer@example.org>' 'report' <<'EOF2'
Another finding.
EOF2
feed plain vuln-info@localhost discoverer@example.org
run_at 2027-03-12T10:00:00+09:00
ack=$(mail_of IPA#00000006 acknowledgement)
tap_like "the answer to a plain report is signed, not encrypted" "$(cat "$ack")" \
	'Content-Type: multipart/signed'

# The destruction of the discoverer's personal data takes its key (and the
# id of its last mail) off the case.
tap_ok "case 5 is not accepted" do_at 2027-03-12T11:00:00+09:00 \
	"reject IPA#00000005 c \"test\""
run_at 2027-04-13T10:00:00+09:00
tap_like "its personal data is destroyed" "$(timeline IPA#00000005)" 'personal-data-destroyed'
tap_is "and the discoverer's key is off the case" \
	"$(case_field IPA#00000005 '.parties[] | select(.role_name == "discoverer") | "\(.key) \(.key_source) \(.last_mail_id)"')" \
	"null null null"

gnupg_cleanup "$opghome" "$dischome"
tap_done
