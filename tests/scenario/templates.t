#!/bin/sh
# templates.t - every notice rendered in both languages for cases built
# through the real intake and processor (todokectl render), and the checks
# that make confidentiality hold by construction: no notice to an
# operator, developer or coordinator names the discoverer, no subject
# carries the URL, the product or the kind of problem, stage 2 carries the
# rules' deadlines and the case's due dates, the 修正完了報告書 it attaches
# comes back through the processor, a From name with CR/LF stays out of
# the subject, and a broken or leaking template stops every program.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

W=IPA#00000001
P=IPA#00000002

mail_to report vuln-info@localhost '山田太郎 <taro@discoverer.example>' \
	'脆弱性の届出' <<'EOF2'
ウェブサイト https://www.example.co.jp/search にクロスサイト・スクリプティングがあります。
EOF2
feed report vuln-info@localhost taro@discoverer.example
mail_to report2 vuln-info@localhost '山田太郎 <taro@discoverer.example>' \
	'製品の脆弱性の届出' <<'EOF2'
ExampleCMS 3.2 の管理画面に SQL インジェクションがあります。
EOF2
feed report2 vuln-info@localhost taro@discoverer.example
run_at 2027-03-01T10:00:00+09:00
tap_is "two reports open two cases" "$(case_field $P .state_name)" received

tap_ok "web case: accepted, described, stage 1 to the operator" \
	do_at 2027-03-02T10:00:00+09:00 \
	"accept $W web" \
	"set $W url https://www.example.co.jp/search" \
	"set $W vuln-type クロスサイト・スクリプティング" \
	"set $W description \"検索欄に <script>alert(1)</script> を入力するとダイアログが表示される\"" \
	"set $W threat 悪意のあるスクリプトの実行" \
	"party $W operator info@example.co.jp name \"Example 株式会社\"" \
	"send $W stage1"
tap_is "the description is a case field" "$(case_field $W .description)" \
	"検索欄に <script>alert(1)</script> を入力するとダイアログが表示される"

# The contact reply comes from another address of the site, with a display
# name that decodes to a CR LF: stage 2 goes out to it.
evil=$(printf '田中\r\n花子' | base64 | tr -d '\n')
mail_to contact vuln-contact@localhost "=?UTF-8?B?$evil?= <tanaka@example.co.jp>" \
	"Re: [$W] ウェブページのセキュリティ上の問題" <<'EOF2'
担当の田中です。以降こちらにご連絡ください。
EOF2
feed contact vuln-contact@localhost tanaka@example.co.jp
run_at 2027-03-03T10:00:00+09:00
tap_is "stage 2 went to the replier" "$(case_field $W .state_name)" detail-sent
tap_is "whose name holds a CR LF" \
	"$(case_field $W '.parties[] | select(.address == "tanaka@example.co.jp") | .name | @json')" \
	'"田中\r\n花子"'
inv=$(due $W investigation)
fix=$(due $W fix)
tap_is "investigation due in 20 business days" "$inv" 2027-04-01
tap_is "fix due in 3 months" "$fix" 2027-06-03

tap_ok "product case: accepted, described, contacted, forwarded" \
	do_at 2027-03-04T10:00:00+09:00 \
	"accept $P product" \
	"set $P product ExampleCMS 3.2" \
	"set $P vuln-type SQL インジェクション" \
	"set $P threat データベースの情報の漏えい" \
	"party $P developer psirt@vendor.example name \"Vendor PSIRT\" lang en" \
	"send $P stage1" \
	"send $P forward"

rctl() { # args...: todokectl render with the scenario's options
	# shellcheck disable=SC2086
	"$todokectl" $opts render "$@" --now 2027-03-05T10:00:00+09:00
}

ctl render --check
tap_is "render --check: every template loads" "$rc" 0
tap_like "and says how many" "$out" '^50 templates in .*/rules/templates \(ja, en\): ok$'

# ---- every notice to each of its audiences, in both languages
secret='example\.co\.jp|クロスサイト|スクリプト|ExampleCMS|SQL|インジェクション|山田|taro@'
for lang in ja en; do
	while read -r notice audience case; do
		[ -n "$notice" ] || continue
		case $case in -) arg= ;; *) arg=$case ;; esac
		# shellcheck disable=SC2086
		rctl "$notice" $arg --audience "$audience" --lang "$lang" --json \
			>"$tap_tmp/r.json" 2>"$tap_tmp/r.err"
		rrc=$?
		subject=$(jq -r .subject "$tap_tmp/r.json" 2>/dev/null)
		text=$(jq -r '[.body, (.attachments[] | .body)] | join("\n")' \
			"$tap_tmp/r.json" 2>/dev/null)
		problem=
		[ $rrc -eq 0 ] || problem="exit $rrc: $(cat "$tap_tmp/r.err")"
		if [ -z "$problem" ] && printf '%s' "$subject" | grep -Eq "$secret"; then
			problem="a confidential word in the subject: $subject"
		fi
		if [ -z "$problem" ] && [ "$case" != - ] &&
		   [ "${subject#*\[$case\]}" = "$subject" ]; then
			problem="no [$case] in the subject: $subject"
		fi
		if [ -z "$problem" ] && [ "$(printf '%s' "$subject" | wc -l)" -ne 0 ]; then
			problem="the subject is not one line"
		fi
		case $audience in
		operator | developer | coordinator)
			if printf '%s' "$text" | grep -Eq '山田太郎|taro@discoverer'; then
				problem="the discoverer is named in: $text"
			fi ;;
		esac
		if [ -z "$problem" ] && printf '%s' "$text" | grep -q '{[{%]'; then
			problem="a tag was left: $text"
		fi
		tap_is "$notice to the $audience ($lang, ${case})" "$problem" ""
	done <<EOF2
acknowledgement discoverer $W
acceptance discoverer $W
non-acceptance discoverer $W
stage1 operator $W
stage1-reminder operator $W
contact-reminder operator $W
postal-letter operator $W
stage2 operator $W
reminder-first-reply operator $W
reminder-investigation operator $W
reminder-fix operator $W
unreachable discoverer $W
ended discoverer $W
ended operator $W
completion discoverer $W
staff-notice staff $W
transcript staff $W
stage1 developer $P
stage1-reminder developer $P
contact-reminder developer $P
postal-letter developer $P
stage2 developer $P
reminder-first-reply developer $P
reminder-investigation developer $P
reminder-fix developer $P
published discoverer $P
priority-provided discoverer $P
forward coordinator $P
ended discoverer $P
digest staff -
staff-notice staff -
EOF2
done

# ---- stage 2 in detail
rctl stage2 $W --json >"$tap_tmp/s2.json"
body=$(jq -r .body "$tap_tmp/s2.json")
tap_like "stage 2 (ja): 20 business days from the rules, with the due date" "$body" \
	"20 営業日以内\($inv まで\)"
tap_like "stage 2 (ja): 3 months, with the due date" "$body" "3 ヶ月以内\($fix まで\)"
tap_like "stage 2 carries the report block from the case fields" "$body" \
	'検索欄に <script>alert\(1\)</script> を入力するとダイアログが表示される'
tap_unlike "the operator's stage 2 names neither 山田太郎 nor his address" \
	"$body$(jq -r '.attachments[].body' "$tap_tmp/s2.json")" '山田太郎|taro@discoverer\.example'
tap_is "it goes to the replier" "$(jq -r .to "$tap_tmp/s2.json")" tanaka@example.co.jp
tap_is "the name's CR LF is nowhere near the subject" \
	"$(jq -r .subject "$tap_tmp/s2.json")" \
	"[$W] セキュリティ上の問題に関する詳細情報送付の件"
tap_like "in the body it is text, a plain line end" "$(jq -r .body "$tap_tmp/s2.json")" \
	'^田中$'
tap_is "and no CR is left" "$(jq -r .body "$tap_tmp/s2.json" | tr -cd '\r' | wc -c)" 0
tap_is "the 修正完了報告書 goes with it" "$(jq -r '.attachments[0].filename' "$tap_tmp/s2.json")" \
	修正完了報告書.txt
rctl stage2 $W --lang en >"$tap_tmp/s2en.txt"
tap_like "stage 2 (en): 20 business days" "$(cat "$tap_tmp/s2en.txt")" \
	"within 20 business days of receiving this mail \(by $inv\)"
tap_like "stage 2 (en): 3 months" "$(tr '\n' ' ' <"$tap_tmp/s2en.txt")" "3 months \(by $fix\)"
tap_like "the text preview shows the attachment" "$(cat "$tap_tmp/s2en.txt")" \
	'^--- attachment: fix-completion-report.txt ---$'
rctl acknowledgement $W >"$tap_tmp/ack.txt"
tap_like "the discoverer's own acknowledgement does name him" "$(cat "$tap_tmp/ack.txt")" \
	'^山田太郎 様$'
rctl stage2 $P --json >"$tap_tmp/p2.json"
tap_is "a product's details go to the developer in English" \
	"$(jq -r '.to + " " + .lang' "$tap_tmp/p2.json")" "psirt@vendor.example en"
tap_like "with the product in the report block" "$(jq -r .body "$tap_tmp/p2.json")" \
	'ExampleCMS 3.2'

# ---- the form, filled in and returned, is read by the processor
jq -r '.attachments[0].body' "$tap_tmp/s2.json" |
	sed -e 's/^対応内容:$/対応内容: 出力時のエスケープ処理を追加しました。/' \
	    -e '/^希望します/d' >"$tap_tmp/form.txt"
mail_to fixed vuln-contact@localhost 'tanaka@example.co.jp' "Re: [$W] 修正完了報告書" \
	<"$tap_tmp/form.txt"
feed fixed vuln-contact@localhost tanaka@example.co.jp
run_at 2027-04-09T15:00:00+09:00
tap_is "the returned form is recognised" "$(case_field $W .state_name)" fix-reported
tap_is "with its kind" "$(case_field $W .fix_kind)" 1
tap_is "and no check wanted" "$(case_field $W .check_wanted)" 2

# ---- refusals
ctl render acknowledgement $W --audience operator
tap_is "a discoverer's notice asked for the operator: refused" "$rc" 2
tap_like "there is no such template" "$err" "no template for notice 'acknowledgement' to the operator"
ctl render stage9 $W
tap_is "an unknown notice: usage error" "$rc" 2
ctl render stage2
tap_is "a case notice without a case: usage error" "$rc" 2

# ---- a template that would leak is refused when rules are loaded
cp -r "$TOP_SRCDIR/rules" "$tap_tmp/rules"
bad="$tap_tmp/rules/templates/en/stage2.operator.txt"
line=$(grep -n '^Dear ' "$bad" | cut -d: -f1)
sed -i 's/^Dear .*/Dear {{ recipient.name }} (reported by {{ discoverer.name }}),/' "$bad"
# shellcheck disable=SC2086
tap_run "$todokectl" $opts -o "paths.rules_dir=$tap_tmp/rules" render --check
tap_is "render --check refuses the operator template naming the discoverer" "$rc" 2
tap_is "with file and line" "$err" \
	"todokectl: $bad:$line: 'discoverer.name' is the discoverer's personal data: a template for the operator may not use it"
# shellcheck disable=SC2086
"$processor" $opts -o "paths.rules_dir=$tap_tmp/rules" -f --once \
	--now 2027-04-10T10:00:00+09:00 >"$tap_tmp/p.out" 2>&1
tap_is "the processor does not start with it" "$?" 1
tap_like "and says why" "$(cat "$tap_tmp/p.out")" "$bad:$line: 'discoverer.name'"
cp "$TOP_SRCDIR/rules/templates/en/stage2.operator.txt" "$bad"
sed -i 's/^Subject: .*/Subject: [{{case}}] Problem at {{ url }}/' "$bad"
# shellcheck disable=SC2086
tap_run "$todokectl" $opts -o "paths.rules_dir=$tap_tmp/rules" render stage2 $W
tap_is "a subject interpolating the URL: refused" "$rc" 1
tap_like "at its line" "$err" "$bad:[0-9]+: the subject may not interpolate 'url'"

tap_done
