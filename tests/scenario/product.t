#!/bin/sh
# product.t - product cases (DOMAIN.md §2.4, §2.6): forwarding to the
# coordinator, coordinator mail recorded on the case, publication with the
# discoverer told, priority provision and the Cabinet Office notification
# (also on a closed case); and a developer this desk contacts itself who
# never answers, ending unreachable with the §2.6 table's proposal.
. "$TOP_SRCDIR/tests/integration/tap.sh"
. "$TOP_SRCDIR/tests/lib/scenario.sh"
scenario_setup

# ---- case 1: forwarded, published
echo 'A buffer overflow in ExampleRouter 1.0.' | report r1
run_at 2027-02-01T10:00:00+09:00
A=IPA#00000001
tap_ok "accept as product and forward" do_at 2027-02-02T10:00:00+09:00 \
	"accept $A product" "set $A product \"ExampleRouter 1.0\"" "send $A forward"
tap_is "forwarded" "$(case_field $A .state_name)" forwarded
tap_is "the forward goes to the coordinator address of the config" \
	"$(case_field $A '[.parties[] | select(.role_name == "coordinator") | .address] | .[0]')" \
	vuln-coordinator@localhost
tap_is "one forward notice" "$(notices $A forward)" 1

fwd=$(last_notice_id $A forward)
mail_to coord vuln-contact@localhost 'vuln-coordinator@localhost' "Re: [$A] forwarded" \
	"In-Reply-To: <$fwd>" <<'EOF2'
The developer was notified.
EOF2
feed coord vuln-contact@localhost vuln-coordinator@localhost
run_at 2027-02-10T10:00:00+09:00
ctl timeline $A
tap_like "coordinator mail is recorded on the case" "$out" 'coordinator-update'
tap_is "the state does not move by it" "$(case_field $A .state_name)" forwarded

tap_ok "priority provision recorded" do_at 2027-03-01T10:00:00+09:00 \
	"record $A priority-provided 2027-03-01 \"electric power ISAC\""
tap_is "the discoverer is told of the priority provision" "$(notices $A priority-provided)" 1
tap_ok "publication recorded" do_at 2027-03-15T10:00:00+09:00 \
	"record $A published 2027-03-15 JVN#12345678"
tap_is "published" "$(case_field $A .state_name)" published
tap_is "the discoverer is told of the publication" "$(notices $A published)" 1
tap_ok "close as published" do_at 2027-03-16T10:00:00+09:00 "close $A published"
tap_is "closed" "$(case_field $A .state_name)" closed
tap_is "no second publication notice on closing" "$(notices $A published)" 1
tap_ok "the Cabinet Office notification can be recorded on a closed case" \
	do_at 2027-03-17T10:00:00+09:00 "record $A gov-notified 2027-03-17"
tap_like "and is kept" "$(case_field $A .gov_notified)" '^2027-03-17'
printf 'reopen %s\nclose %s fixed\n' "$A" "$A" >"$tap_tmp/bad.in"
# shellcheck disable=SC2086
tap_run "$todokectl" $opts do --now 2027-03-17T11:00:00+09:00 - <"$tap_tmp/bad.in"
tap_is "a web outcome is refused for a product case" "$rc" 2
tap_like "naming the problem" "$err" "close: outcome 'fixed' is not for a product case"
tap_is "and the reopen before it is not kept either (all or nothing)" \
	"$(case_field $A .state_name)" closed

# ---- case 2: a developer contacted by this desk, never answering
echo 'A buffer overflow in ExampleRouter 1.0.' | report r2
run_at 2027-04-01T10:00:00+09:00
B=IPA#00000002
tap_ok "accept, set impact normal and not verifiable, contact the developer" \
	do_at 2027-04-01T11:00:00+09:00 \
	"accept $B product" "set $B impact normal" "set $B verifiable no" \
	"party $B developer psirt@vendor.example" "send $B stage1"
tap_is "the 起算日 starts the non-disclosure clock (1 year)" "$(due $B nondisclosure)" 2028-04-01
tap_is "the first contact is the overview notice" "$(notices $B stage1)" 1
run_at 2027-04-16T00:00:10+09:00
tap_is "the second contact (no postal address: by mail)" "$(notices $B contact-reminder)" 1
tap_is "the wait spans Golden Week: due 2027-05-06" "$(due $B contact)" 2027-05-06
run_at 2027-05-07T00:00:10+09:00
tap_is "the third contact" "$(notices $B contact-reminder)" 2
tap_is "the third waits until 2027-05-21" "$(due $B contact)" 2027-05-21
run_at 2027-05-22T00:00:10+09:00
tap_is "unreachable after three" "$(case_field $B .state_name)" unreachable
ctl attention --json
tap_like "the §2.6 table proposes ending the handling (normal x not verifiable)" \
	"$(printf '%s' "$out" | jq -r --arg c "$B" '.[] | select(.case == $c and .kind == "unreachable") | .text')" \
	'proposed next step: end'
tap_is "the discoverer is asked for the developer's contact" "$(notices $B unreachable)" 1

echo 'A buffer overflow in ExampleRouter 1.0.' | report r3
run_at 2027-04-01T10:00:00+09:00
D=IPA#00000003
tap_ok "a priority, verifiable case" do_at 2027-04-01T11:00:00+09:00 \
	"accept $D product" "set $D impact priority" "set $D verifiable yes" \
	"party $D developer psirt@other.example" "send $D stage1" "unreachable $D"
ctl attention --json
tap_like "the table proposes the publication committee (priority x verifiable)" \
	"$(printf '%s' "$out" | jq -r --arg c "$D" '.[] | select(.case == $c and .kind == "unreachable") | .text')" \
	'proposed next step: committee'
tap_done
