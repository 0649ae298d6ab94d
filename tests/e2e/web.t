#!/bin/bash
# web.t - end to end over real SMTP: a web case from an encrypted report to
# closed/fixed (acknowledgement, a staff command by signed mail, stage 1,
# the operator's reply with an ISO-2022-JP subject, stage 2 by itself,
# reminders after 21 business days, the 修正完了報告書, closure and the
# completion notice), and unverified correspondence on a second case. Every
# notice is taken from the Maildir, decrypted and verified with gpg.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/e2e/e2e.sh"
desk_up
A=IPA#00000001
B=IPA#00000002

# ---- the report
desk_report report 'Discoverer <discoverer@example.org>' '脆弱性の届出' <<'EOF2'
ウェブサイト https://www.operator.example/search にクロスサイト・スクリプティングがあります。
EOF2
tap_like "the encrypted report: Postfix accepts it" "$DESK_REPLY" '^250 '
tap_like "the milter decrypts and spools it" "$(cat "$DESK/log/milter.log")" \
	"$DESK_QID: spooled entry 1 class=report case=- crypto=decrypted"
process 2027-03-01T10:00:00+09:00
tap_is "case 1 is received" "$(state $A)" received
tap_is "the discoverer's address is the envelope's, without brackets" \
	"$(desk_ctl case $A --json --pii | jq -r '.parties[] | select(.role_name == "discoverer") | .address')" \
	discoverer@example.org
# The report was signed by the discoverer's key: the answers are encrypted to it.
notice_ok $A acknowledgement discoverer discoverer@example.org encrypted '脆弱性関連情報の届出をお送りいただき'

# ---- staff accept it by signed mail
desk_staff accept 2027-03-02T10:00:00+09:00 <<EOF2
accept $A web
set $A url https://www.operator.example/search
party $A operator security@operator.example name "Operator Inc." key $OPERATOR_KEY
send $A stage1
EOF2
tap_like "the command mail: Postfix accepts it" "$DESK_REPLY" '^250 '
process 2027-03-02T10:01:00+09:00
tap_is "the command mail is obeyed" "$(desk_ctl commands --json | jq .accepted)" 1
tap_is "case 1 is contacting" "$(state $A)" contacting
notice_ok $A acceptance discoverer discoverer@example.org encrypted '受理'
notice_ok $A stage1 operator security@operator.example encrypted 'Operator Inc\. 様'
tap_unlike "stage 1 names no detail of the problem" "$(cat "$tap_tmp/$A.stage1.operator.txt")" \
	'クロスサイト|discoverer@'
transcript=$(desk_ctl outbox --json | jq -r '[.[] | select(.notice == "transcript")] | last | .message_id')
f=$(desk_notice_file "$transcript")
tap_is "the transcript goes to alice's configured address" \
	"$(sed -n 's/^To: *//p' "${f:-/dev/null}" | head -n 1)" alice@desk.example
desk_open_notice "${f:-/dev/null}" "$tap_tmp/transcript.txt"
tap_is "encrypted to alice's key" "$NOTICE_CRYPTO" encrypted

# ---- the operator's reply, ISO-2022-JP subject
subject="Re: [$A] ウェブページのセキュリティ上の問題"
desk_mail reply security@operator.example vuln-contact@localhost \
	"=?ISO-2022-JP?B?$(printf '%s' "$subject" | iconv -f UTF-8 -t ISO-2022-JP | base64 -w0)?=" \
	"In-Reply-To: <$(desk_outbox_id $A stage1)>" <<<'担当です。詳細をお送りください。'
send_ok "the ISO-2022-JP reply: Postfix accepts it" reply security@operator.example \
	vuln-contact@localhost "$DESK/out/reply.eml"
tap_like "the milter reads the case from the subject" "$(cat "$DESK/log/milter.log")" \
	"$DESK_QID: spooled entry [0-9]+ class=reply case=IPA#00000001 "
process 2027-03-03T10:00:00+09:00
tap_is "stage 2 goes by itself: detail-sent" "$(state $A)" detail-sent
notice_ok $A stage2 operator security@operator.example encrypted 'https://www\.operator\.example/search'
tap_like "stage 2 carries the fix report form" "$(cat "$tap_tmp/$A.stage2.operator.txt")" '修正完了報告書'
tap_is "the investigation is due in 20 business days" \
	"$(desk_ctl case $A --json | jq -r '.clocks.investigation.due' | cut -c1-10)" 2027-04-01

# ---- 21 business days later
later=$(desk_ctl calendar add 2027-03-03T10:00:00+09:00 21bd)
tap_is "21 business days after 2027-03-03" "$later" 2027-04-02T23:59:59+09:00
process 2027-04-01T23:59:00+09:00
tap_is "no investigation reminder on the last day" "$(count_notices $A reminder-investigation)" 0
process "$later"
tap_is "one investigation reminder after it" "$(count_notices $A reminder-investigation)" 1
notice_ok $A reminder-investigation operator security@operator.example encrypted '調査結果'
notice_ok $A reminder-first-reply operator security@operator.example encrypted '.'
tap_is "staff are told the result is overdue (not of the 一次返信: rules)" \
	"$(attention_of $A overdue)" 1

# ---- the 修正完了報告書, closure
desk_mail fixed security@operator.example vuln-contact@localhost "Re: [$A] 修正完了報告書" <<EOF2
セキュリティ上の問題の修正完了報告書

1. セキュリティ上の問題の修正完了報告

取扱番号：$A
対象ウェブページ URL: <https://www.operator.example/search>
対応内容: 出力時のエスケープ処理を追加しました。

2. IPA による確認作業
希望しません

3. 今後の連絡先
ウェブサイトの受付窓口を通じて、その都度担当者を決定する

令和9年4月9日
組織名: Operator Inc.
EOF2
send_ok "the fix report: Postfix accepts it" fixed security@operator.example \
	vuln-contact@localhost "$DESK/out/fixed.eml"
process 2027-04-09T15:00:00+09:00
tap_is "the 修正完了報告書 is recognised" "$(state $A)" fix-reported
desk_staff close 2027-04-12T10:00:00+09:00 <<<"close $A fixed"
tap_like "the closing command mail: Postfix accepts it" "$DESK_REPLY" '^250 '
process 2027-04-12T10:01:00+09:00
tap_is "closed" "$(state $A)" closed
tap_is "outcome fixed" "$(desk_ctl case $A --json | jq -r .outcome)" fixed
notice_ok $A completion discoverer discoverer@example.org encrypted '修正'
tap_like "the timeline keeps each step" \
	"$(desk_ctl timeline $A | cut -f3 | tr '\n' ' ')" \
	'received .*accepted .*stage2-sent .*overdue .*fix-reported .*closed'

# ---- case 2: a stranger writes about it
desk_report report2 'Discoverer <discoverer@example.org>' 'もう一件' <<<'https://www.operator.example/login'
tap_like "a second report: Postfix accepts it" "$DESK_REPLY" '^250 '
process 2027-04-13T10:00:00+09:00
desk_staff accept2 2027-04-13T10:00:00+09:00 <<EOF2
accept $B web
set $B url https://www.operator.example/login
party $B operator security@operator.example key $OPERATOR_KEY
send $B stage1
EOF2
process 2027-04-13T10:01:00+09:00
tap_is "case 2 is contacting" "$(state $B)" contacting
desk_mail stranger someone@example.org vuln-contact@localhost "Re: [$B] hello" \
	<<<'What is this about? Send me the details.'
send_ok "a stranger's mail on case 2: Postfix accepts it" stranger someone@example.org \
	vuln-contact@localhost "$DESK/out/stranger.eml"
process 2027-04-14T10:00:00+09:00
tap_is "it does not move the case" "$(state $B)" contacting
tap_is "it is kept as unverified correspondence" "$(desk_ctl case $B --json | jq .n_unverified)" 1
tap_is "staff are told" "$(attention_of $B unverified)" 1
tap_is "nothing goes to the stranger" "$(grep -l '^To: someone@example.org' "$DESK"/mail/outbound/new/* 2>/dev/null | wc -l)" 0
tap_is "and no stage 2" "$(count_notices $B stage2)" 0

desk_done
