#!/bin/sh
# web-fixed.t - the whole web path (DOMAIN.md §2.8) to closed/fixed, with
# the simulated clock: report, acceptance, stage 1, a contact reply from
# another address of the site (stage 2 goes out by itself), the 一次返信,
# the investigation result, the 修正完了報告書, closure, the discoverer's
# completion notice and the destruction of personal data 30 days later.
# Every due date is checked against the business calendar by hand.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

C=IPA#00000001

mail_to report vuln-info@localhost 'Taro Yamada <taro@discoverer.example>' \
	'脆弱性の届出' <<'EOF2'
ウェブサイト https://www.example.co.jp/search にクロスサイトスクリプティングがあります。
EOF2
feed report vuln-info@localhost taro@discoverer.example
run_at 2027-03-01T10:00:00+09:00
tap_is "a report opens case 1 as received" "$(case_field $C .state_name)" received
tap_is "the discoverer is acknowledged" "$(notices $C acknowledgement)" 1
tap_is "staff are told of the new report" "$(attention $C new-report)" 1
ctl case $C
tap_unlike "the discoverer's address is hidden without --pii" "$out" 'taro@discoverer'
ctl case $C --pii
tap_like "and shown with --pii" "$out" 'taro@discoverer.example'

tap_ok "staff accept it and send stage 1" do_at 2027-03-02T10:00:00+09:00 \
	"accept $C web" \
	"set $C url https://www.example.co.jp/search" \
	"party $C operator info@example.co.jp name \"Example Inc.\"" \
	"send $C stage1"
tap_is "the discoverer is told of the acceptance" "$(notices $C acceptance)" 1
tap_is "stage 1 is queued to the operator" "$(notices $C stage1)" 1
tap_is "the case is contacting" "$(case_field $C .state_name)" contacting
tap_is "the contact attempt waits 10 business days" "$(due $C contact)" 2027-03-16

stage1=$(last_notice_id $C stage1)
mail_to contact vuln-contact@localhost 'Hanako Tanaka <tanaka@example.co.jp>' \
	"Re: [$C] ウェブページのセキュリティ上の問題" "In-Reply-To: <$stage1>" <<'EOF2'
担当の田中です。以降こちらにご連絡ください。
EOF2
feed contact vuln-contact@localhost tanaka@example.co.jp
run_at 2027-03-03T10:00:00+09:00
tap_is "a reply from the site's domain sends stage 2 by itself" \
	"$(notices $C stage2)" 1
tap_is "the case is detail-sent" "$(case_field $C .state_name)" detail-sent
tap_is "the replier becomes an operator party" \
	"$(case_field $C '[.parties[] | select(.address == "tanaka@example.co.jp") | .role_name] | .[0]')" operator
tap_is "the contact clock stopped" "$(case_field $C .clocks.contact.running)" false
tap_is "一次返信 reminder: 5 business days" "$(due $C first-reply)" 2027-03-10
tap_is "investigation: 20 business days, past the equinox substitute holiday" \
	"$(due $C investigation)" 2027-04-01
tap_is "fix: 3 months" "$(due $C fix)" 2027-06-03
tap_is "completion: 9 months" "$(due $C completion)" 2027-12-03
tap_is "long-running mark: 90 days" "$(due $C long-running)" 2027-06-01

mail_to ack vuln-contact@localhost 'tanaka@example.co.jp' "Re: [$C] 詳細情報送付の件" <<'EOF2'
受領しました。
EOF2
feed ack vuln-contact@localhost tanaka@example.co.jp
run_at 2027-03-05T10:00:00+09:00
tap_is "the first reply is the 一次返信" "$(case_field $C .state_name)" acknowledged
run_at 2027-03-11T10:00:00+09:00
tap_is "no 一次返信 reminder once acknowledged" "$(notices $C reminder-first-reply)" 0

mail_to result vuln-contact@localhost 'tanaka@example.co.jp' "Re: [$C] 調査結果" <<'EOF2'
調査の結果、問題を確認しました。修正します。
EOF2
feed result vuln-contact@localhost tanaka@example.co.jp
run_at 2027-03-19T10:00:00+09:00
tap_is "the next reply is the investigation result" "$(case_field $C .state_name)" fixing
run_at 2027-04-02T10:00:00+09:00
tap_is "no investigation reminder after the result" "$(notices $C reminder-investigation)" 0

mail_to fixed vuln-contact@localhost 'tanaka@example.co.jp' "Re: [$C] 修正完了報告書" <<EOF2
セキュリティ上の問題の修正完了報告書

1. セキュリティ上の問題の修正完了報告

取扱番号：$C
対象ウェブページ URL: <https://www.example.co.jp/search>
対応内容: 出力時のエスケープ処理を追加しました。

2. IPA による確認作業
希望しません

3. 今後の連絡先
ウェブサイトの受付窓口を通じて、その都度担当者を決定する

令和9年4月9日
組織名: Example Inc.
EOF2
feed fixed vuln-contact@localhost tanaka@example.co.jp
run_at 2027-04-09T15:00:00+09:00
tap_is "the 修正完了報告書 is recognised" "$(case_field $C .state_name)" fix-reported
tap_is "the fix kind is read from it" "$(case_field $C .fix_kind)" 1
tap_is "the fix and completion clocks stop" \
	"$(case_field $C '[.clocks.fix.running, .clocks.completion.running] | join(",")')" false,false

tap_ok "staff close it as fixed" do_at 2027-04-12T10:00:00+09:00 "close $C fixed"
tap_is "closed" "$(case_field $C .state_name)" closed
tap_is "outcome fixed" "$(case_field $C .outcome)" fixed
tap_is "the discoverer gets the completion notice" "$(notices $C completion)" 1
tap_is "personal data is kept 30 days after closure" "$(due $C retention)" 2027-05-12

run_at 2027-05-12T12:00:00+09:00
ctl case $C --pii
tap_like "the discoverer's address is still there on the last day" "$out" 'taro@discoverer'
run_at 2027-05-13T00:00:00+09:00
ctl case $C --pii
tap_unlike "and destroyed the day after" "$out" 'taro@discoverer'
ctl timeline $C
tap_like "the timeline records the destruction" "$out" 'personal-data-destroyed'
tap_unlike "without the data" "$out" 'taro@discoverer'
tap_like "the timeline keeps each step" "$(printf '%s' "$out" | cut -f3 | tr '\n' ' ')" \
	'received .*accepted .*stage2-sent .*acknowledged .*investigated .*fix-reported .*closed'

tap_done
