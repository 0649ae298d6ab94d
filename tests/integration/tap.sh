# tap.sh - TAP helpers for the shell tests. Source it; call tap_done last.
#
#   tap_run CMD...            run CMD; sets $rc, $out (stdout), $err (stderr)
#   tap_is DESC GOT WANT      pass if GOT equals WANT
#   tap_like DESC GOT REGEX   pass if GOT matches the extended REGEX
#   tap_unlike DESC GOT REGEX pass if GOT does not match
#   tap_ok DESC CMD...        pass if CMD exits 0

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
tap_count=0
tap_failures=0
tap_tmp=$(mktemp -d "${TMPDIR:-/tmp}/todoke-test.XXXXXX")
trap 'rm -rf "$tap_tmp"' EXIT

tap_result() { # status description [diagnostic]
	tap_count=$((tap_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_count - $2"
	else
		tap_failures=$((tap_failures + 1))
		echo "not ok $tap_count - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}

tap_run() {
	"$@" >"$tap_tmp/out" 2>"$tap_tmp/err"
	rc=$?
	out=$(cat "$tap_tmp/out")
	err=$(cat "$tap_tmp/err")
}

tap_is() {
	[ "$2" = "$3" ]
	tap_result $? "$1" "got:  '$2'
want: '$3'"
}

tap_like() {
	printf '%s\n' "$2" | grep -Eq -- "$3"
	tap_result $? "$1" "got:  '$2'
want match: $3"
}

tap_unlike() {
	! printf '%s\n' "$2" | grep -Eq -- "$3"
	tap_result $? "$1" "got:  '$2'
want no match: $3"
}

tap_ok() {
	local desc=$1
	shift
	"$@" >"$tap_tmp/out" 2>&1
	tap_result $? "$desc" "$(cat "$tap_tmp/out")"
}

tap_done() {
	echo "1..$tap_count"
	[ "$tap_failures" -eq 0 ]
}
