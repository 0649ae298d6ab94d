#!/bin/sh
# check.t - `todokectl check` names each kind of setup problem in words a
# desk operator understands, and exits 1 (2 for a configuration that does
# not load): a missing, open or keyless GnuPG home, staff keys that are
# missing, expired or revoked, a broken rules file or template. A sound
# desk exits 0. (The case store's quarantine: processor.t.)
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/gnupg.sh"

ctl_bin=$TOP_BUILDDIR/processor/todokectl
ALICE=81291E614864BD4B40862A479F3A85E79FA9BE53
BOB=42453D90E7541B863E94EC88D2416F570C99570C
CAROL=C8469F697A53EF13806983D8FC9F6A10178F0041
OUTSIDER=B8227851D0ECE9D26122A705E27707614EFC0225

gnupg_setup desk-cv25519 alice.pub bob-revoked.pub carol-expired.pub >/dev/null 2>&1 ||
	{ echo "Bail out! cannot make a GnuPG home"; exit 1; }
deskhome=$GNUPGHOME
gnupg_new_home alice.pub >/dev/null 2>&1 || { echo "Bail out! second home"; exit 1; }
keyless=$GNUPGHOME
GNUPGHOME=$deskhome
mkdir -m 700 "$tap_tmp/state"
"$TOP_BUILDDIR/processor/todoke-processor" -f --once --now 2027-03-01T10:00:00+09:00 \
	-o "paths.state_dir=$tap_tmp/state" -o "paths.rules_dir=$TOP_SRCDIR/rules" \
	-o "gpg.home=$deskhome" >/dev/null 2>&1 || { echo "Bail out! cannot make the store"; exit 1; }

# conf FILE KEYS...: a configuration with these staff keys (FPR:ADDRESS:ROLE)
conf() {
	_f=$1
	shift
	_keys=
	for _k in "$@"; do
		_keys="$_keys${_keys:+, }{ fingerprint = \"${_k%%:*}\"; address = \"$(echo "$_k" | cut -d: -f2)\"; role = \"${_k##*:}\"; }"
	done
	printf 'staff: {\n  keys = ( %s );\n};\n' "$_keys" >"$_f"
}
check() { # conf [-o ...]
	_c=$1
	shift
	tap_run "$ctl_bin" -c "$_c" -o "paths.state_dir=$tap_tmp/state" \
		-o "paths.rules_dir=$TOP_SRCDIR/rules" -o "gpg.home=$deskhome" "$@" check
}

conf "$tap_tmp/good.conf" "$ALICE:alice@desk.example:lead"
check "$tap_tmp/good.conf"
tap_is "a sound desk: exit 0" "$rc" 0
tap_like "says so" "$out" '^everything is fine$'
tap_like "the desk key is usable" "$out" '^ok       desk secret key F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75 \(todoke desk'
tap_like "the staff key is there" "$out" "^ok       staff key $ALICE \\(alice@desk.example, lead\\)"
tap_like "rules and templates load" "$out" '^ok       rules, business calendar and notice templates'
tap_like "the store is read" "$out" '^ok       case store: 0 cases'

conf "$tap_tmp/missing.conf" "$ALICE:alice@desk.example:lead" "$OUTSIDER:dave@desk.example:staff"
check "$tap_tmp/missing.conf"
tap_is "a staff key not in the keyring: exit 1" "$rc" 1
tap_like "named, with what to do" "$out" \
	"^PROBLEM  staff key $OUTSIDER \\(dave@desk.example\\) is not in the desk's keyring \\(gpg.home\\): commands signed with it are refused; import it"
tap_like "the closing line points at it" "$out" '^some things need attention \(PROBLEM above\)$'

conf "$tap_tmp/expired.conf" "$CAROL:carol@desk.example:staff"
check "$tap_tmp/expired.conf"
tap_is "an expired staff key: exit 1" "$rc" 1
tap_like "named as expired" "$out" "^PROBLEM  staff key $CAROL \\(carol@desk.example\\) has expired"

conf "$tap_tmp/revoked.conf" "$BOB:bob@desk.example:staff"
check "$tap_tmp/revoked.conf"
tap_is "a revoked staff key: exit 1" "$rc" 1
tap_like "named as revoked" "$out" "^PROBLEM  staff key $BOB \\(bob@desk.example\\) is revoked"

check "$tap_tmp/good.conf" -o "gpg.home=$keyless"
tap_is "a home without the desk's secret key: exit 1" "$rc" 1
tap_like "the desk can neither decrypt nor sign" "$out" \
	"^PROBLEM  no usable secret key in $keyless: the desk can neither decrypt reports nor sign notices"

check "$tap_tmp/good.conf" -o "gpg.home=$tap_tmp/nowhere"
tap_is "no GnuPG home: exit 1" "$rc" 1
tap_like "named" "$out" "^PROBLEM  the desk's GnuPG home $tap_tmp/nowhere does not exist \\(processor.gpg_home, or gpg.home\\)"

chmod 755 "$keyless"
check "$tap_tmp/good.conf" -o "gpg.home=$keyless"
tap_like "a GnuPG home open to others" "$out" \
	"^PROBLEM  the desk's GnuPG home $keyless is open to others \\(mode 0755\\); it must be 0700"
chmod 700 "$keyless"

cp -r "$TOP_SRCDIR/rules" "$tap_tmp/rules"
chmod -R u+w "$tap_tmp/rules"
printf '\n{{ no_such_field }}\n' >>"$tap_tmp/rules/templates/en/stage1.operator.txt"
check "$tap_tmp/good.conf" -o "paths.rules_dir=$tap_tmp/rules"
tap_is "a broken template: exit 1" "$rc" 1
tap_like "named with its file" "$out" '^PROBLEM  .*stage1\.operator\.txt:[0-9]+'
cp "$TOP_SRCDIR/rules/templates/en/stage1.operator.txt" "$tap_tmp/rules/templates/en/"
sed -i 's/recipient_daily_cap = [0-9]*;/recipient_daily_cap = "many";/' "$tap_tmp/rules/partnership.conf"
check "$tap_tmp/good.conf" -o "paths.rules_dir=$tap_tmp/rules"
tap_is "a broken rules file: exit 1" "$rc" 1
tap_like "named with its file and line" "$out" '^PROBLEM  .*partnership\.conf:[0-9]+'

mkdir -m 700 "$tap_tmp/new"
check "$tap_tmp/good.conf" -o "paths.state_dir=$tap_tmp/new"
tap_is "a desk whose processor never ran: exit 1" "$rc" 1
tap_like "says what makes the store" "$out" \
	"^PROBLEM  no case store in $tap_tmp/new/store yet: todoke-processor makes it when it first starts"

printf 'paths: {\n  state_dir = "/x";\n  nonsense = 1;\n};\n' >"$tap_tmp/bad.conf"
tap_run "$ctl_bin" -c "$tap_tmp/bad.conf" check
tap_is "a configuration that does not load: exit 2" "$rc" 2
tap_like "file:line and the setting" "$err" "bad\\.conf:3.*nonsense"

tap_done
