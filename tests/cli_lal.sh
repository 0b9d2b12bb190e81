#!/bin/sh
# lal_cifar usage errors: each bad flag exits with status 2 and a message naming the flag and what was expected.
# usage: cli_lal.sh path/to/lal_cifar
bin="$1"
fail=0
check() {   # check 'expected message fragment' args...
    want="$1"; shift
    out=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" -ne 2 ]; then echo "FAIL: lal_cifar $*: exit $rc, expected 2"; fail=1; fi
    case "$out" in *"$want"*) ;; *) echo "FAIL: lal_cifar $*: message '$out' lacks '$want'"; fail=1 ;; esac
}
check "--params: expected all or conv-linear, got 'bn'" --params bn
check "--methods: expected a comma list of ds,ld,rds,rld,rnd,lcs,margin,entropy,egl,badge,coreset, got 'egl,foo'" --methods egl,foo
check "--reference 'running' was removed" --reference running
check "--reference: expected full, nli or full:N with an integer N >= 1, got 'half'" --reference half
check "--reference: expected full, nli or full:N with an integer N >= 1, got 'full:0'" --reference full:0
check "--reference: expected full, nli or full:N with an integer N >= 1, got 'full:10x'" --reference full:10x
check "--reference: expected full, nli or full:N with an integer N >= 1, got 'nli:5'" --reference nli:5
check "unknown option '--compare-running'" --compare-running
check "unknown option '--abs-cos=1'" --abs-cos=1
check "option --params needs a value" --params
exit $fail
