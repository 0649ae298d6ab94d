#!/bin/sh
# clock-discipline.t - only lib/clock.c reads the wall clock.
. "$TOP_SRCDIR/tests/integration/tap.sh"

cd "$TOP_SRCDIR" || exit 1
hits=$(grep -nE '(^|[^a-z_])(time|gettimeofday|ftime)[[:space:]]*\(|CLOCK_REALTIME' \
	lib/*.c lib/*.h milter/*.c processor/*.c 2>/dev/null |
	grep -v '^lib/clock\.[ch]:' | grep -vE ':[0-9]+:[[:space:]]*(/\*|\*)')
tap_is "no direct wall-clock reads outside lib/clock.c" "$hits" ""

tap_done
