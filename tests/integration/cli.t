#!/bin/sh
# cli.t - every program answers --version and --help, and refuses bad usage.
. "$TOP_SRCDIR/tests/integration/tap.sh"

for prog in milter/todoke-milter processor/todoke-processor processor/todokectl; do
	name=${prog#*/}
	tap_run "$TOP_BUILDDIR/$prog" --version
	tap_is "$name --version exits 0" "$rc" 0
	tap_like "$name --version names itself and the version" "$out" "^$name \(todoke\) [0-9]+\.[0-9]+\.[0-9]+$"
	tap_run "$TOP_BUILDDIR/$prog" --help
	tap_is "$name --help exits 0" "$rc" 0
	tap_like "$name --help shows usage" "$out" "^Usage: $name"
	tap_like "$name --help names the -c option" "$out" "--config FILE"
	tap_run "$TOP_BUILDDIR/$prog" --no-such-option
	tap_is "$name refuses an unknown option with status 2" "$rc" 2
done

tap_run "$TOP_BUILDDIR/processor/todokectl" frobnicate
tap_is "todokectl refuses an unknown command with status 2" "$rc" 2
tap_like "and says so" "$err" "unknown command 'frobnicate'"

tap_run "$TOP_BUILDDIR/milter/todoke-milter" stray-argument
tap_is "todoke-milter refuses a stray argument" "$rc" 2

tap_done
