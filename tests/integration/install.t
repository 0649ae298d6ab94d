#!/bin/sh
# install.t - `make install DESTDIR=...` puts every file a desk needs in
# place: the three programs, the five manual pages, the rules and both
# template languages under $(datadir)/todoke, the example configuration
# under $(sysconfdir)/todoke pointing at the installed rules, the systemd
# units (naming the installed programs; `systemd-analyze verify` accepts
# them where it is available) and the MTA snippets. The installed
# todokectl loads the installed rules and templates.
. "$TOP_SRCDIR/tests/integration/tap.sh"

dest="$tap_tmp/root"
if ! ${MAKE:-make} -s -C "$TOP_BUILDDIR" install DESTDIR="$dest" >"$tap_tmp/install.log" 2>&1; then
	sed 's/^/# /' "$tap_tmp/install.log" | tail -n 20
	echo "Bail out! make install failed"
	exit 1
fi
# Where the tree was configured to go: found by a file of each directory.
find_one() { find "$dest" -path "*/$1" | head -n 1; }
milter=$(find_one sbin/todoke-milter)
prefix=${milter%/sbin/todoke-milter}
prefix=${prefix#"$dest"}
tap_ok "todoke-milter in sbin" test -x "$dest$prefix/sbin/todoke-milter"
tap_ok "todoke-processor in sbin" test -x "$dest$prefix/sbin/todoke-processor"
tap_ok "todokectl in bin" test -x "$dest$prefix/bin/todokectl"
for m in man8/todoke-milter.8 man8/todoke-processor.8 man1/todokectl.1 \
	man5/todoke.conf.5 man5/todoke-templates.5; do
	tap_ok "manual page $m" test -n "$(find_one "share/man/$m")"
done
rules=$(find_one todoke/rules/partnership.conf)
rules=${rules%/partnership.conf}
tap_ok "the rules under \$(datadir)/todoke" test -f "$rules/partnership.conf"
tap_is "25 Japanese templates" "$(ls "$rules/templates/ja" | grep -c '\.txt$')" 25
tap_is "25 English templates" "$(ls "$rules/templates/en" | grep -c '\.txt$')" 25
example=$(find_one todoke/todoke.conf.example)
tap_ok "the example configuration under \$(sysconfdir)/todoke" test -f "$example"
tap_like "it points at the installed rules" "$(grep 'rules_dir =' "$example")" \
	"rules_dir = \"${rules#"$dest"}\";"
tap_is "and says nothing else than the documented example, but for paths" \
	"$(diff "$TOP_SRCDIR/conf/todoke.conf" "$example" | grep -c '^>')" 3
for u in todoke-milter todoke-processor; do
	unit=$(find_one "todoke/systemd/$u.service")
	tap_ok "systemd unit $u.service" test -f "$unit"
	tap_like "$u.service runs the installed program" "$(grep '^ExecStart=' "$unit")" \
		"^ExecStart=$prefix/sbin/$u -c .*/todoke/todoke.conf\$"
	tap_unlike "$u.service: every @variable@ replaced" "$(cat "$unit")" '@[a-z]+@'
done
tap_ok "the Postfix lines" test -n "$(find_one todoke/mta/main.cf.snippet)"
tap_ok "the Sendmail lines" test -n "$(find_one todoke/mta/todoke.mc)"

tap_run "$dest$prefix/bin/todokectl" -c "$example" -o "paths.rules_dir=$rules" render --check
tap_is "the installed todokectl loads the installed rules and templates" "$rc" 0

if command -v systemd-analyze >/dev/null 2>&1; then
	# Verify the units as installed, with the programs where they are now.
	mkdir "$tap_tmp/units"
	for u in todoke-milter todoke-processor; do
		sed "s|$prefix/sbin/|$dest$prefix/sbin/|g" "$(find_one "todoke/systemd/$u.service")" \
			>"$tap_tmp/units/$u.service"
	done
	tap_run env MANPATH="$dest$prefix/share/man" SYSTEMD_LOG_LEVEL=warning \
		systemd-analyze verify "$tap_tmp/units/todoke-milter.service" \
		"$tap_tmp/units/todoke-processor.service"
	tap_is "systemd-analyze verify accepts the units" "$rc:$err" "0:"
else
	echo "# systemd-analyze is not installed: the units are not verified"
fi
tap_done
