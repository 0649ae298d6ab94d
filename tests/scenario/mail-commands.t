#!/bin/sh
# mail-commands.t - staff commands by signed mail, through the real intake
# (todoke-milter -t) and processor, with signatures made now by gpg with
# the INSECURE test keys at faked times. A mail signed by a staff key is
# applied and answered with a transcript; unsigned mail, a forged From
# with a non-staff key, a revoked or expired key, a bad signature, a
# replay (same mail, or same signature under a new Message-ID), a
# signature 4 days old, and one bad command among good ones are each
# refused with nothing changed: with a transcript to the signer's
# configured address when a staff key signed, silently (and counted)
# otherwise. Also: the default case from a signed Subject, lead-only
# verbs, encrypted and signed mail, and the event log of the case.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
. "$TOP_SRCDIR/tests/lib/staffmail.sh"
scenario_setup
staffmail_setup "$GNUPGHOME" >/dev/null 2>&1 || { echo "Bail out! cannot make the signing home"; exit 1; }

ALICE=81291E614864BD4B40862A479F3A85E79FA9BE53
BOB=42453D90E7541B863E94EC88D2416F570C99570C
CAROL=C8469F697A53EF13806983D8FC9F6A10178F0041
C1=IPA#00000001
C2=IPA#00000002
CTL=vuln-control@localhost

# The staff keys: alice is the lead, bob (revoked) and carol (expired) are
# listed as staff. The outsider's key is known to the keyring but not staff.
staff_conf() { # file alice-role
	sed "s|^  keys = ( );|  keys = ( { fingerprint = \"$ALICE\"; address = \"alice@desk.example\"; role = \"$2\"; }, { fingerprint = \"$BOB\"; address = \"bob@desk.example\"; }, { fingerprint = \"$CAROL\"; address = \"carol@desk.example\"; } );|" \
		"$TOP_SRCDIR/conf/todoke.conf" >"$1"
}
staff_conf "$tap_tmp/lead.conf" lead
staff_conf "$tap_tmp/staff.conf" staff
base_opts=$(printf '%s\n' $opts | grep -v -e '^-c$' -e 'conf/todoke.conf$' | tr '\n' ' ')
opts="-c $tap_tmp/lead.conf $base_opts"

transcripts() { # address
	"$todokectl" $opts outbox --json |
		jq --arg a "$1" '[.[] | select(.notice == "transcript" and .to == $a)] | length'
}
last_transcript() { # address
	"$todokectl" $opts outbox --json |
		jq -r --arg a "$1" '[.[] | select(.notice == "transcript" and .to == $a)] | last | .detail'
}
counter() { # name
	"$todokectl" $opts commands --json | jq -r ".$1"
}
attention_of() { # kind: staff attention items of that kind, for no case
	"$todokectl" $opts attention --json |
		jq --arg k "$1" '[.[] | select(.kind == $k and .case == null)] | length'
}
flat() { printf '%s' "$1" | tr '\n' '~'; }
command_events() { # case
	"$todokectl" $opts timeline "$1" --json |
		jq '[.[] | select(.type == "command" or .type == "command-mail")] | length'
}

# ---------------------------------------------------------- two reports
for n in 1 2; do
	mail_to report$n vuln-info@localhost "Taro <taro$n@discoverer.example>" '脆弱性の届出' <<EOF2
ウェブサイト https://www$n.example.co.jp/ に脆弱性があります。
EOF2
	feed report$n vuln-info@localhost taro$n@discoverer.example
done
run_at 2027-03-01T10:00:00+09:00
tap_is "two reports open cases 1 and 2" \
	"$(case_field $C1 .state_name),$(case_field $C2 .state_name)" received,received

# ---------------------------------------- 1. a signed command is applied
STAFF_BEFORE="close $C2 fixed (outside the signature: never read)" \
staff_clearsigned good 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T09:58:00+09:00 'commands' <<EOF2
# accepting the first report
accept $C1 web
> close $C2 fixed (quoted: ignored)
set $C1 url https://www1.example.co.jp/
party $C1 operator info@example.co.jp
send $C1 stage1
Thanks, Alice
close $C2 fixed
EOF2
tap_ok "the signed mail is spooled" feed good $CTL alice@desk.example
run_at 2027-03-02T10:00:00+09:00
tap_is "its commands are applied: case 1 is contacting" "$(case_field $C1 .state_name)" contacting
tap_is "the stage-1 notice is queued" "$(notices $C1 stage1)" 1
tap_is "text outside the signature, quoted and after 'thanks' is not obeyed" \
	"$(case_field $C2 .state_name)" received
tap_is "a transcript goes to alice's configured address" "$(transcripts alice@desk.example)" 1
t=$(last_transcript alice@desk.example)
tap_like "the transcript says applied, 4 commands" "$t" 'Result: +applied, 4 commands'
tap_like "it lists each command with its result" "$(flat "$t")" "> send $C1 stage1~  applied"
tap_like "and the case's new state and due date" "$t" \
	"$C1  contacting; contact due 2027-03-16T23:59:59\+09:00"
tap_like "it names the signature" "$t" "Signature: +key $ALICE, made 2027-03-02T09:58:00\+09:00 \(alice@desk.example, lead\), clearsigned"
ctl timeline $C1
tap_like "the event log names the signer as actor" "$out" "staff:$ALICE	command	[a-z-]*	accept $C1 web"
tap_like "and keeps the command mail" "$out" "staff:$ALICE	command-mail	contacting	signed command mail of key $ALICE"
tap_is "the events carry the mail's Message-ID" \
	"$("$todokectl" $opts timeline $C1 --json | jq -r '[.[] | select(.type == "command-mail")] | .[0].message_id')" \
	"good.$$@staff.example"
tap_is "counted as accepted" "$(counter accepted)" 1
# Delivered: signed by the desk, encrypted to alice's key, which reads it.
TDK_CAPTURE_DIR=$tap_tmp/sent
export TDK_CAPTURE_DIR
mkdir "$TDK_CAPTURE_DIR"
"$processor" $opts -o outbound.sendmail="$TOP_SRCDIR/tests/lib/sendmail-capture" \
	-f --once --now 2027-03-02T10:01:00+09:00 >/dev/null 2>&1
sent=$(grep -lx 'alice@desk.example' "$TDK_CAPTURE_DIR"/*.args)
tap_is "the transcript is delivered once, to alice" "$(printf '%s\n' $sent | grep -c .)" 1
sent=${sent%.args}.eml
tap_like "encrypted" "$(cat "$sent")" 'Content-Type: multipart/encrypted'
tap_unlike "with no command in clear" "$(cat "$sent")" "send $C1|www1"
GNUPGHOME=$SIGN_HOME gpg --batch --status-fd 2 --decrypt "$sent" >"$tap_tmp/t.mime" 2>"$tap_tmp/t.status"
tap_like "alice's key decrypts it" "$(cat "$tap_tmp/t.status")" DECRYPTION_OKAY
tap_like "the desk key signed it" "$(cat "$tap_tmp/t.status")" \
	'VALIDSIG [0-9A-F]+ .* F943ECD400F5A6FC0F26D9614CFDF5FBD8DA3C75'
tap_like "it is the transcript" "$(python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if not p.is_multipart():
        sys.stdout.write(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))' \
	"$tap_tmp/t.mime")" "Result: +applied, 4 commands"

# ------------------------------------------------------------ 2. replay
events1=$(command_events $C1)
tap_ok "the same mail again is spooled" feed good $CTL alice@desk.example
run_at 2027-03-02T11:00:00+09:00
tap_is "a replay changes nothing" "$(command_events $C1)" "$events1"
tap_is "and queues no second stage 1" "$(notices $C1 stage1)" 1
tap_like "the signer is told it was a replay" "$(last_transcript alice@desk.example)" \
	'refused, nothing was changed: replay: this signature was already used'
sed "s/^Message-ID: .*/Message-ID: <fresh.$$@staff.example>/" "$tap_tmp/good.eml" >"$tap_tmp/good2.eml"
feed good2 $CTL alice@desk.example
run_at 2027-03-02T11:10:00+09:00
tap_is "the same signature under a new Message-ID changes nothing" "$(command_events $C1)" "$events1"
tap_like "and is refused as a replay of the signature" "$(last_transcript alice@desk.example)" \
	'replay: this signature was already used'
staff_clearsigned fresh 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T11:18:00+09:00 commands <<EOF2
note $C1 a fresh signature under a used Message-ID
EOF2
sed -i "s/^Message-ID: .*/Message-ID: <good.$$@staff.example>/" "$tap_tmp/fresh.eml"
feed fresh $CTL alice@desk.example
run_at 2027-03-02T11:20:00+09:00
tap_is "a fresh signature under a Message-ID already used changes nothing" \
	"$(command_events $C1)" "$events1"
tap_like "and is refused as a replay of the Message-ID" "$(last_transcript alice@desk.example)" \
	"refused, nothing was changed: replay: this Message-ID was already used by the command mail read at 2027-03-02T10:00:00\+09:00"

# ----------------------------------------------------------- 3. unsigned
before=$(transcripts alice@desk.example)
staff_plain unsigned 'Alice <alice@desk.example>' commands <<EOF2
hold $C1
EOF2
feed unsigned $CTL alice@desk.example
run_at 2027-03-02T12:00:00+09:00
tap_is "an unsigned command is not applied" "$(case_field $C1 .hold)" false
tap_is "and gets no reply" "$(transcripts alice@desk.example)" "$before"
tap_is "it is counted as dropped" "$(counter dropped)" 1
tap_like "with the reason" "$(counter last_dropped)" 'the mail is not signed'

# ----------------------------- 4. a forged From, signed with a non-staff key
staff_clearsigned forged 'Alice <alice@desk.example>' outsider@example.net \
	2027-03-02T12:58:00+09:00 commands <<EOF2
hold $C1
EOF2
feed forged $CTL alice@desk.example
run_at 2027-03-02T13:00:00+09:00
tap_is "a good signature by a key that is not staff is not obeyed" "$(case_field $C1 .hold)" false
tap_is "no reply to the From address" "$(transcripts alice@desk.example)" "$before"
tap_is "nor to anyone" \
	"$("$todokectl" $opts outbox --json | jq '[.[] | select(.notice == "transcript")] | length')" 4
tap_is "counted as dropped" "$(counter dropped)" 2
tap_like "naming the key" "$(counter last_dropped)" 'key B8227851D0ECE9D26122A705E27707614EFC0225 is not a staff key'

# ----------------------------------------------------- 5. a revoked key
staff_clearsigned revoked 'Bob <bob@desk.example>' bob@desk.example \
	2027-03-02T13:58:00+09:00 commands <<EOF2
note $C1 from a revoked key
EOF2
feed revoked $CTL bob@desk.example
run_at 2027-03-02T14:00:00+09:00
tap_is "a revoked staff key is refused" "$(command_events $C1)" "$events1"
tap_is "no transcript to bob: nothing can be encrypted to a revoked key" \
	"$(transcripts bob@desk.example)" 0
tap_is "staff are told instead" "$(attention_of command-mail-refused)" 1
tap_like "with the reason" "$("$todokectl" $opts attention --json | jq -r '[.[] | select(.kind == "command-mail-refused")] | last | .text')" \
	"command mail <revoked.$$@staff.example> signed by key $BOB \(bob@desk.example\) refused: signed with a revoked key \(key $BOB\); no transcript"

# ---------------------------------------------------- 5b. an expired key
staff_clearsigned expired 'Carol <carol@desk.example>' carol@desk.example \
	2020-01-01T12:00:00Z commands <<EOF2
note $C1 from an expired key
EOF2
feed expired $CTL carol@desk.example
run_at 2027-03-02T14:10:00+09:00
tap_is "an expired staff key is refused" "$(command_events $C1)" "$events1"
tap_is "no transcript to carol's expired key either" "$(transcripts carol@desk.example)" 0
tap_like "staff are told" "$("$todokectl" $opts attention --json | jq -r '[.[] | select(.kind == "command-mail-refused")] | last | .text')" \
	"signed by key $CAROL \(carol@desk.example\) refused: signed with an expired key"

# ----------------------------------------------------- 6. a bad signature
staff_clearsigned tampered 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T14:58:00+09:00 commands <<EOF2
note $C2 harmless
EOF2
sed -i "s/^note $C2 harmless/close $C2 fixed/" "$tap_tmp/tampered.eml"
feed tampered $CTL alice@desk.example
run_at 2027-03-02T15:00:00+09:00
tap_is "a tampered text is not applied" "$(case_field $C2 .state_name)" received
tap_like "the signer is told of the bad signature" "$(last_transcript alice@desk.example)" \
	"bad signature: the signed text was changed after signing \(key $ALICE\)"
tap_unlike "without the tampered commands" "$(last_transcript alice@desk.example)" 'close'

# ------------------------------------------------ 7. a 4-day-old signature
staff_clearsigned old 'Alice <alice@desk.example>' alice@desk.example \
	2027-02-26T15:00:00+09:00 commands <<EOF2
note $C1 four days old
EOF2
feed old $CTL alice@desk.example
run_at 2027-03-02T15:00:00+09:00
tap_is "a signature made 4 days ago is refused" "$(command_events $C1)" "$events1"
tap_like "the transcript gives the window" "$(last_transcript alice@desk.example)" \
	'made 345600 seconds before the desk read the mail; at most 259200 are accepted'

# --------------------------------- 8. one bad command among good ones
staff_pgpmime onebad 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T15:58:00+09:00 commands <<EOF2
note $C2 first
reject $C2 no-such-code
note $C2 third
EOF2
feed onebad $CTL alice@desk.example
run_at 2027-03-02T16:00:00+09:00
tap_is "nothing of a mail with a bad line is applied" "$(command_events $C2)" 0
t=$(last_transcript alice@desk.example)
tap_like "the transcript names the bad line" "$(flat "$t")" \
	"> reject $C2 no-such-code~  line 2: refused: reject: unknown reason code 'no-such-code'"
tap_like "and says the good lines were not applied" "$(flat "$t")" \
	"> note $C2 first~  not applied"
tap_like "under a refusal" "$t" 'refused, nothing was changed: line 2 cannot be applied'

staff_pgpmime stateerr 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T16:28:00+09:00 commands <<EOF2
note $C2 first
accept $C1 web
EOF2
feed stateerr $CTL alice@desk.example
run_at 2027-03-02T16:30:00+09:00
tap_is "a command the case's state refuses stops the others too" "$(command_events $C2)" 0
tap_like "the transcript gives the reason" "$(last_transcript alice@desk.example)" \
	"line 2: refused: $C1: accept: the case is contacting; this needs received"

# --------------------------------------- 9. the default case from the Subject
staff_pgpmime subject 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T16:58:00+09:00 "[$C2] commands" "[$C2] commands" <<EOF2
accept product
note "the default case comes from the signed Subject"
EOF2
feed subject $CTL alice@desk.example
run_at 2027-03-02T17:00:00+09:00
tap_is "a protected, signed Subject gives the default case" "$(case_field $C2 .state_name)" accepted
tap_like "the transcript shows how the line was read" "$(flat "$(last_transcript alice@desk.example)")" \
	"> accept product~  \(read as: accept $C2 product\)~  applied"

staff_clearsigned unsignedsubj 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T17:08:00+09:00 "[$C1] commands" <<EOF2
hold
EOF2
feed unsignedsubj $CTL alice@desk.example
run_at 2027-03-02T17:10:00+09:00
tap_is "an unsigned Subject gives no default case" "$(case_field $C1 .hold)" false
tap_like "the transcript says why" "$(last_transcript alice@desk.example)" \
	"no case number: the Subject's $C1 is not covered by the signature"
staff_clearsigned anysubj 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T17:18:00+09:00 "[$C1] commands" <<EOF2
hold
EOF2
feed anysubj $CTL alice@desk.example
"$processor" $opts -o staff.subject_case=any -f --once --now 2027-03-02T17:20:00+09:00 >/dev/null 2>&1
tap_is "with staff.subject_case = any it does" "$(case_field $C1 .hold)" true

# ------------------------------------------------- 10. lead-only commands
staff_clearsigned lead 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T17:28:00+09:00 commands <<EOF2
release $C1
EOF2
feed lead $CTL alice@desk.example
"$processor" -c "$tap_tmp/staff.conf" $base_opts -f --once --now 2027-03-02T17:30:00+09:00 >/dev/null 2>&1
tap_is "a key of role staff may not use a lead-only verb" "$(case_field $C1 .hold)" true
tap_like "the transcript says so" "$(last_transcript alice@desk.example)" \
	"release: only the lead role may use it; key $ALICE has the role staff"

# ------------------------------------------ 11. encrypted and signed mail
staff_encrypted enc 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T17:38:00+09:00 '...' "[$C1] commands" <<EOF2
release
note $C1 "sent encrypted"
EOF2
feed enc $CTL alice@desk.example
run_at 2027-03-02T17:40:00+09:00
tap_is "an encrypted and signed mail is applied (its inner Subject is signed)" \
	"$(case_field $C1 .hold)" false
tap_like "the transcript names the form" "$(last_transcript alice@desk.example)" \
	'encrypted and signed'

# ------------------------------- 12. the discoverer's details by mail
staff_clearsigned pii 'Alice <alice@desk.example>' alice@desk.example \
	2027-03-02T17:48:00+09:00 commands <<EOF2
party $C2 discoverer hanako.q7@discoverer.example name "Hanako Q7"
EOF2
feed pii $CTL alice@desk.example
run_at 2027-03-02T17:50:00+09:00
ctl case $C2 --pii
tap_like "the discoverer's new address reaches the personal data store" "$out" 'hanako.q7@discoverer.example'
t=$(last_transcript alice@desk.example)
tap_like "the transcript says the line was applied" "$(flat "$t")" \
	"> party ... discoverer \(the discoverer's details are not repeated\)~  applied"
tap_unlike "without repeating the details" "$t" 'hanako|Q7'
ctl timeline $C2
tap_like "the event log records the command" "$out" \
	"staff:$ALICE	command	accepted	party $C2 discoverer \(personal data not logged\)"
tap_unlike "without the details" "$out" 'hanako|Q7'

# ------------------------------------------------------------ counters
ctl commands
tap_like "todokectl commands counts what happened" "$(flat "$out")" 'accepted	5~refused	11~dropped	2'
tap_like "and the replay record" "$(flat "$out")" 'signatures remembered	9~message-ids remembered	9'

# --------------------------------------------------- 13. transcript flood
# Four replays of the first mail within one hour, at most 2 replies an
# hour: two transcripts, then staff are told once, the rest is counted.
before=$(transcripts alice@desk.example)
events=$(command_events $C1)
for n in 1 2 3 4; do
	sed "s/^Message-ID: .*/Message-ID: <flood$n.$$@staff.example>/" "$tap_tmp/good.eml" >"$tap_tmp/flood$n.eml"
	feed flood$n $CTL alice@desk.example
done
"$processor" $opts -o staff.transcripts_per_hour=2 -f --once --now 2027-03-02T18:10:00+09:00 >/dev/null 2>&1
tap_is "two transcripts within the hour's limit" "$(transcripts alice@desk.example)" $((before + 2))
tap_is "staff are told once that replies are withheld" "$(attention_of transcripts-withheld)" 1
tap_like "until the next hour" "$("$todokectl" $opts attention --json | jq -r '[.[] | select(.kind == "transcripts-withheld")] | last | .text')" \
	"more than 2 command mails signed by key $ALICE \(alice@desk.example\) within an hour: no transcript is sent to it until 2027-03-02T19:00:00\+09:00"
tap_is "the withheld replies are counted" "$(counter withheld)" 2
tap_is "the commands of none of them changed a case" "$(command_events $C1)" "$events"
sed "s/^Message-ID: .*/Message-ID: <flood5.$$@staff.example>/" "$tap_tmp/good.eml" >"$tap_tmp/flood5.eml"
feed flood5 $CTL alice@desk.example
"$processor" $opts -o staff.transcripts_per_hour=2 -f --once --now 2027-03-02T19:00:00+09:00 >/dev/null 2>&1
tap_is "in the next hour a transcript goes again" "$(transcripts alice@desk.example)" $((before + 3))

# --------------------------------------- 14. the digest counts for staff
run_at 2027-03-03T09:30:00+09:00
digest=$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.notice == "digest")] | last | .detail')
tap_like "the next digest counts the dropped mails and withheld transcripts" "$(flat "$digest")" \
	'^2027-03-03: .*~command mail: 2 dropped without a reply \(not signed by a staff key\), 2 transcripts withheld; todokectl commands~'
run_at 2027-03-04T09:30:00+09:00
digest=$("$todokectl" $opts outbox --json | jq -r '[.[] | select(.notice == "digest")] | last | .detail')
tap_unlike "the one after has nothing new to count" "$digest" 'command mail:'
tap_is "no spool entry is left behind" "$("$todokectl" $opts spool | grep -c .)" 0

tap_done
