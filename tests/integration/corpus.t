#!/bin/sh
# corpus.t - every mail of tests/corpus through the real intake
# (`todoke-milter -t`): verdict, SMTP reply, class, case numbers, crypto
# and signature states as tests/corpus/MANIFEST says; spool ids; --dry-run.
#
# Needs jq (Debian package "jq", in the project's package list) and gpg.
# Skips (1..0) only when todoke-milter has no -t test mode; anything else
# that is missing is a failure.
#
# The JSON field names of `todoke-milter -t` are read in one place only,
# $jq_defs below: adjust them there if the output changes.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"

milter="$TOP_BUILDDIR/milter/todoke-milter"
ctl="$TOP_BUILDDIR/processor/todokectl"
corpus="$TOP_SRCDIR/tests/corpus"
conf="$TOP_SRCDIR/conf/todoke.conf"

if ! command -v jq >/dev/null 2>&1; then
	echo "Bail out! jq is not installed (it must be in the project's package list)"
	exit 1
fi
if [ ! -x "$milter" ]; then
	echo "Bail out! $milter is missing: build it first"
	exit 1
fi
if ! "$milter" --help 2>&1 | grep -Eq -- '(^|[[:space:]])(-t,|--test)'; then
	echo "1..0 # SKIP todoke-milter has no -t test mode"
	exit 0
fi

# The names a MANIFEST check may use, over the JSON of `todoke-milter -t`.
jq_defs='
def verdict: .verdict;
def reply: .smtp_reply;
def written: .written;
def has_entry: (.entry // null) != null;
def id: .entry.id;
def class: .entry.classification;
def reason: .entry.class_reason;
def message_id: .entry.message_id;
def subject: .entry.subject;
def from_header: .entry.from_header;
def envelope_from: .entry.envelope_from;
def recipients: .entry.recipients;
def case_subject: .entry.case_subject;
def case_body: .entry.case_body;
def refs: .entry.thread_refs;
def foreign: .entry.foreign_tags;
def token: .entry.bounce_token;
def bounce_rcpt: .entry.bounce_recipient;
def crypto: .entry.crypto;
def crypto_detail: .entry.crypto_detail;
def sigs: (.entry.signatures // []);
def sig_states: [sigs[] | .state] | join(",");
def signer: sigs[0].fingerprint;
def signed_inside: sigs[0].inside_encryption;
def original_size: .entry.original_size;
def decrypted_size: .entry.decrypted_size;
'

# The desk's secret keys; everyone else's public keys only (bob's with its
# revocation). The throwaway key of crypto-signed-unknown-key.eml is in no
# file at all.
if ! gnupg_setup desk-cv25519 desk-rsa3072 discoverer.pub operator.pub alice.pub \
	bob-revoked.pub carol-expired.pub outsider.pub; then
	echo "Bail out! cannot set up a GnuPG home with the test keys"
	exit 1
fi
fpr_of() {
	gpg --batch --with-colons --list-keys "<$1>" 2>/dev/null |
		awk -F: '$1 == "fpr" { print $10; exit }'
}
fpr_alice=$(fpr_of alice@desk.example)
fpr_bob=$(fpr_of bob@desk.example)
fpr_carol=$(fpr_of carol@desk.example)
fpr_discoverer=$(fpr_of discoverer@example.org)
fpr_operator=$(fpr_of security@operator.example)

state="$tap_tmp/state"
size=0

# run FILE RCPTS FROM OPTS [ARG...]: the intake on FILE, through tap_run.
# RCPTS and OPTS are comma-separated; FROM "-" leaves --from out; OPTS "-"
# adds no -o.
run() {
	_file=$1 _rcpts=$2 _from=$3 _opts=$4
	shift 4
	set -- -c "$conf" -o "paths.state_dir=$state" -o "gpg.home=$GNUPGHOME" \
		-o gpg.time_budget_ms=60000 "$@"
	_ifs=$IFS
	IFS=,
	for _r in $_rcpts; do
		set -- "$@" --rcpt "$_r"
	done
	if [ "$_opts" != - ]; then
		for _o in $_opts; do
			set -- "$@" -o "$_o"
		done
	fi
	IFS=$_ifs
	[ "$_from" = - ] || set -- "$@" --from "$_from"
	tap_run "$milter" "$@" -t "$_file" </dev/null
}

# jqr EXPR: EXPR over $out, raw; jqok EXPR: true if EXPR is true over $out.
jqr() {
	printf '%s\n' "$out" | jq -r "$jq_defs $1" 2>&1
}
jqok() {
	printf '%s\n' "$out" | jq -e --argjson size "$size" \
		--arg fpr_alice "$fpr_alice" --arg fpr_bob "$fpr_bob" \
		--arg fpr_carol "$fpr_carol" --arg fpr_discoverer "$fpr_discoverer" \
		--arg fpr_operator "$fpr_operator" "$jq_defs $1" >/dev/null 2>&1
}

tap_skip() { # description reason
	tap_count=$((tap_count + 1))
	echo "ok $tap_count - $1 # SKIP $2"
}

# A MANIFEST "-" is JSON null for a case number.
nullable() {
	if [ "$1" = - ]; then echo null; else echo "$1"; fi
}

diag_entry() {
	printf 'exit %s\nstdout: %s\nstderr: %s\n' "$rc" "$(printf '%s' "$out" | head -c 3000)" \
		"$(printf '%s' "$err" | head -c 2000)"
}

# The fields every run is checked on, in one jq call: "|"-separated (none
# of them can hold a "|"), null as "null", no signatures as "".
jq_fields='[verdict, written, (id // null), has_entry, class, case_subject,
	case_body, crypto, sig_states, original_size] | map(tostring) | join("|")'

: >"$tap_tmp/outputs"
x_todoke_id=

tap_ok "the corpus has a MANIFEST" test -f "$corpus/MANIFEST"
tap_ok "the MANIFEST names every .eml file of the corpus" sh -c '
	cd "$1" || exit 1
	for f in *.eml; do
		grep -q "^$f " MANIFEST || { echo "not in MANIFEST: $f"; exit 1; }
	done' sh "$corpus"

while read -r file rcpts from opts verdict class cs cb crypto sigs check; do
	case $file in '' | '#'*) continue ;; esac
	label="$file to $rcpts"
	[ "$opts" = - ] || label="$label with $opts"
	if [ ! -f "$corpus/$file" ]; then
		tap_result 1 "$label: the file exists"
		continue
	fi
	size=$(wc -c <"$corpus/$file" | tr -d ' ')
	run "$corpus/$file" "$rcpts" "$from" "$opts"

	if ! fields=$(printf '%s\n' "$out" | jq -s -r -e "$jq_defs
		if length == 1 and (.[0] | type == \"object\") then .[0] | $jq_fields
		else false end" 2>/dev/null); then
		tap_result 1 "$label: prints one JSON object" "$(diag_entry)"
		continue
	fi
	# Everything printed goes to the spool checks at the end, whatever
	# this line expected.
	printf '%s\n' "$out" >>"$tap_tmp/outputs"
	_ifs=$IFS
	IFS='|'
	set -f
	# shellcheck disable=SC2086
	set -- $fields
	set +f
	IFS=$_ifs
	got_verdict=$1 got_written=$2 id=$3 got_entry=$4 got_class=$5 got_cs=$6
	got_cb=$7 got_crypto=$8 got_sigs=$9
	shift 9
	got_size=$1

	tap_is "$label: verdict" "$got_verdict" "$verdict"
	if printf '%s\n' "$err" | grep -Eq 'Sanitizer|runtime error|CRITICAL|WARNING \*\*'; then
		tap_result 1 "$label: no sanitizer report or GLib warning" "$err"
	fi

	if [ "$verdict" = reject ]; then
		tap_is "$label: exit status 1" "$rc" 1
		tap_is "$label: nothing written" "$got_written" false
		tap_is "$label: no entry" "$got_entry" false
		if [ "$check" != - ]; then
			jqok "$check"
			tap_result $? "$label: $check" "reply: $(jqr reply)"
		fi
		continue
	fi

	tap_is "$label: exit status 0" "$rc" 0
	tap_is "$label: written" "$got_written" true
	tap_like "$label: has a spool id" "$id" '^[1-9][0-9]*$'
	[ "$file" != plain-x-todoke-headers.eml ] || x_todoke_id=$id
	[ "$class" = '*' ] || tap_is "$label: class" "$got_class" "$class"
	[ "$cs" = '*' ] || tap_is "$label: case_subject" "$got_cs" "$(nullable "$cs")"
	[ "$cb" = '*' ] || tap_is "$label: case_body" "$got_cb" "$(nullable "$cb")"
	[ "$crypto" = '*' ] || tap_is "$label: crypto" "$got_crypto" "$crypto"
	if [ "$sigs" != '*' ]; then
		[ "$sigs" != - ] || sigs=
		tap_is "$label: signatures" "$got_sigs" "$sigs"
	fi
	case $check in
	*original_size*) ;;
	*) tap_is "$label: original kept byte for byte" "$got_size" "$size" ;;
	esac
	if [ "$check" != - ]; then
		jqok "$check"
		tap_result $? "$label: $check" "$(printf '%s\n' "$out" | jq -c .entry 2>&1 | head -c 3000)"
	fi
done <"$corpus/MANIFEST"

# ------------------------------------------------------------ spool ids
jq -c 'select(.written == true) | .entry' "$tap_tmp/outputs" >"$tap_tmp/entries"
tap_is "every accepted mail got its own spool id" \
	"$(jq '.id' "$tap_tmp/entries" | sort | uniq -d | tr '\n' ' ')" ""

# The spool holds exactly the entries that were printed (todokectl reads
# them back through the spool's own reader).
if [ -x "$ctl" ] && "$ctl" -c "$conf" -o "paths.state_dir=$state" spool --json \
	>"$tap_tmp/list" 2>"$tap_tmp/list.err"; then
	jq -S -c '.[]' "$tap_tmp/list" | sort >"$tap_tmp/list.sorted"
	jq -S -c . "$tap_tmp/entries" | sort >"$tap_tmp/entries.sorted"
	tap_ok "the spool holds exactly the entries printed by -t" \
		diff "$tap_tmp/entries.sorted" "$tap_tmp/list.sorted"
else
	tap_skip "the spool holds exactly the entries printed by -t" \
		"todokectl spool --json is not available ($(head -c 200 "$tap_tmp/list.err" 2>/dev/null))"
fi
n_before=$(jq length "$tap_tmp/list" 2>/dev/null || echo 0)

# --dry-run writes nothing: the next real run gets the next id; and the
# same mail twice is two entries (no deduplication at intake).
f="$corpus/plain-report-utf8.eml"
run "$f" vuln-info@localhost discoverer@example.org -
first=$(jqr id)
tap_is "a first run of a mail is accepted" "$(jqr verdict)/$rc" accept/0
run "$f" vuln-info@localhost discoverer@example.org - --dry-run
tap_is "--dry-run: accepted, exit status 0" "$(jqr verdict)/$rc" accept/0
tap_is "--dry-run: nothing written" "$(jqr written)" false
tap_like "--dry-run: no spool id taken" "$(jqr 'id // 0')" '^0$'
tap_is "--dry-run: the entry is still shown" "$(jqr class)" report
run "$f" vuln-info@localhost discoverer@example.org -
second=$(jqr id)
case $first in
[1-9]*) next=$((first + 1)) ;;
*) next="(the id after '$first')" ;;
esac
tap_is "the same mail again is a new entry with the next id (dry run took none)" \
	"$second" "$next"
if [ -x "$ctl" ] && "$ctl" -c "$conf" -o "paths.state_dir=$state" spool --json \
	>"$tap_tmp/list" 2>"$tap_tmp/list.err"; then
	tap_is "two more entries in the spool, not three (and not one)" \
		"$(jq length "$tap_tmp/list")" "$((n_before + 2))"
	tap_is "both hold the same mail" \
		"$(jq -r --argjson a "$first" --argjson b "$second" \
			'[.[] | select(.id == $a or .id == $b) | .message_id] | join(" ")' "$tap_tmp/list")" \
		"plain-report-utf8@example.org plain-report-utf8@example.org"
else
	tap_skip "two more entries in the spool" "todokectl spool --json is not available"
fi

tap_run "$milter" -c "$conf" -o "paths.state_dir=$tap_tmp/never" -o "gpg.home=$GNUPGHOME" \
	-t "$f" --rcpt vuln-info@localhost --from discoverer@example.org --dry-run
tap_is "--dry-run with a missing state dir: accepted" "$(jqr verdict)/$rc" accept/0
tap_ok "--dry-run does not create the state dir" test ! -e "$tap_tmp/never"

# ------------------------------------------------------ exit statuses
tap_run "$milter" -c "$conf" -o "paths.state_dir=$state" -o "gpg.home=$GNUPGHOME" \
	-t "$f"
tap_is "-t without --rcpt is a usage error (exit status 2)" "$rc" 2
tap_run "$milter" -c "$conf" -o "paths.state_dir=$state" -o "gpg.home=$GNUPGHOME" \
	-t "$tap_tmp/no-such.eml" --rcpt vuln-info@localhost --from discoverer@example.org
tap_is "-t on a missing file fails (exit status 1)" "$rc" 1

# -------------------------------------------- X-Todoke-* in the spool
# The spooled original of plain-x-todoke-headers.eml must not hold the
# forged headers. Read back with `todokectl spool show ID` when it exists.
show_original() { # id -> the spooled original on stdout, or fail
	"$ctl" -c "$conf" -o "paths.state_dir=$state" spool show "$1" --bodies \
		>"$tap_tmp/show" 2>"$tap_tmp/show.err" || return 1
	if jq -e 'type == "object"' "$tap_tmp/show" >/dev/null 2>&1; then
		jq -r '(.entry // .) | if .original_base64 then (.original_base64 | @base64d)
			else (.original // empty) end' "$tap_tmp/show"
	else
		cat "$tap_tmp/show"
	fi
}
if [ -z "$x_todoke_id" ]; then
	tap_result 1 "plain-x-todoke-headers.eml was spooled (for the spool check)"
elif [ ! -x "$ctl" ]; then
	tap_skip "spooled original has no X-Todoke-* headers" "no todokectl"
elif ! original=$(show_original "$x_todoke_id") ||
	! printf '%s\n' "$original" | grep -q 'plain-x-todoke@example.org'; then
	tap_skip "spooled original has no X-Todoke-* headers" \
		"todokectl spool show does not print the original ($(head -c 200 "$tap_tmp/show.err"))"
else
	tap_unlike "spooled original has no X-Todoke-* headers" "$original" '^[Xx]-[Tt][Oo][Dd][Oo][Kk][Ee]-'
	tap_unlike "nor the continuation of a folded one" "$original" 'really trusted'
	tap_like "spooled original keeps the other headers" "$original" '^X-Mailer: corpus'
fi

tap_done
