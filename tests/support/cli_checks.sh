# Shared by the end-to-end shell tests (sourced): a scratch directory, and checks that count failures.
#   source "$src/tests/support/cli_checks.sh"     # after `set -u`; then cd'ed into a fresh $work
#   expect CODE PATTERN COMMAND...                # exit code, and a line of the output (extended regex)
#   ok TEXT / fail TEXT                           # record a check
#   finish                                        # print the count; the script's exit status
# EXPECT_TIMEOUT (seconds, default 300) bounds each expect'ed command.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d); trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null' EXIT
cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
expect() {
    local code=$1 pattern=$2; shift 2
    local out rc
    out=$(timeout "${EXPECT_TIMEOUT:-300}" "$@" 2>&1); rc=$?
    if [ "$rc" -ne "$code" ]; then fail "'$*' exited $rc, expected $code"; echo "$out" | tail -20 | sed 's/^/    /'; return 1; fi
    if ! grep -Eq -- "$pattern" <<<"$out"; then fail "'$*' output does not match /$pattern/"; echo "$out" | tail -20 | sed 's/^/    /'; return 1; fi
    ok "$* (exit $code)"
}
finish() {
    echo "$failures failure(s)"
    [ "$failures" -eq 0 ]
}
