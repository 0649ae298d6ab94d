#!/bin/sh
# config.t - configuration files are checked the same way by every program.
. "$TOP_SRCDIR/tests/integration/tap.sh"

ctl="$TOP_BUILDDIR/processor/todokectl"
example="$TOP_SRCDIR/conf/todoke.conf"

for prog in milter/todoke-milter processor/todoke-processor; do
	name=${prog#*/}
	tap_run "$TOP_BUILDDIR/$prog" -c "$example" --check-config
	tap_is "$name accepts the example configuration" "$rc" 0
	tap_like "$name says where the configuration came from" "$out" "configuration OK \($example\)"
done

printf 'log: {\n  level = "info";\n  colour = "blue";\n};\n' >"$tap_tmp/unknown.conf"
for prog in milter/todoke-milter processor/todoke-processor; do
	name=${prog#*/}
	tap_run "$TOP_BUILDDIR/$prog" -c "$tap_tmp/unknown.conf" -n
	tap_is "$name refuses an unknown key with status 2" "$rc" 2
	tap_is "$name names file and line of the unknown key" "$err" \
		"$name: $tap_tmp/unknown.conf:3: unknown setting 'log.colour'"
done

printf 'calendar: {\n\n  timezone = 9;\n};\n' >"$tap_tmp/type.conf"
tap_run "$ctl" -c "$tap_tmp/type.conf" config
tap_is "todokectl refuses a mistyped value with status 2" "$rc" 2
tap_is "and names file and line" "$err" \
	"todokectl: $tap_tmp/type.conf:3: setting 'calendar.timezone' must be a string"

tap_run "$ctl" -c "$tap_tmp/none.conf" config
tap_is "an explicit missing file is an error" "$rc" 2
tap_like "that names the file" "$err" "none.conf: cannot read file"

tap_run "$ctl" -c "$example" config calendar.timezone
tap_is "config prints one setting" "$out" "calendar.timezone = Asia/Tokyo"

tap_run "$ctl" -c "$example" -o calendar.timezone=UTC config calendar.timezone
tap_is "-o overrides the file" "$out" "calendar.timezone = UTC"

tap_run "$ctl" -c "$example" -o log.level=shout config
tap_is "-o with a bad value is refused" "$rc" 2
tap_like "with the reason" "$err" "-o log.level=shout: setting 'log.level' is \"shout\", must be one of: debug, info, warning, error"

tap_run "$ctl" -c "$example" config no.such
tap_is "config refuses an unknown name" "$rc" 2

tap_run "$ctl" -c "$example" config --json log.level
tap_like "config --json prints JSON" "$out" '"log.level" : "info"'

tap_run "$ctl" -c "$example" config
n_lines=$(printf '%s\n' "$out" | grep -c ' = ')
n_keys=$(grep -cE '^[[:space:]]+[a-z_]+[[:space:]]*=' "$example")
tap_is "every setting printed appears in the example file" "$n_lines" "$n_keys"

manual="$TOP_SRCDIR/conf/todoke.conf.5"
undocumented=
for key in $(printf '%s\n' "$out" | sed 's/ = .*//'); do
	grep -q "^\.B $key\$" "$manual" || undocumented="$undocumented $key"
done
tap_is "todoke.conf(5) documents every setting" "$undocumented" ""

tap_done
