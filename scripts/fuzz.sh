#!/usr/bin/env bash
# Fuzzes the webhook verifiers and body parsers (the cargo-fuzz project in fuzz/).
#
#   scripts/fuzz.sh                  # every target for 10 s: about 3.5 min once built (the first
#                                    # build takes 7-15 min on 2 cores, installing cargo-fuzz ~6 min)
#   scripts/fuzz.sh 3600             # every target for an hour
#   scripts/fuzz.sh 600 verify_stripe parse_stripe   # some targets, 10 min each
#
# Needs cargo-fuzz (installed here when missing) and a nightly toolchain. Without one,
# RUSTC_BOOTSTRAP=1 lets the stable compiler take cargo-fuzz's nightly-only flags; set
# FUZZ_TOOLCHAIN=stable to force that. Crashes are saved under fuzz/artifacts/<target>/ and make
# the script exit non-zero; `cargo test -p order-agent-adapters --test webhooks_proptest` replays
# fuzz/corpus and fuzz/artifacts when they exist.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
shift || true
case "$seconds" in
    '' | *[!0-9]*)
        echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
        exit 2
        ;;
esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain="${FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        toolchain=nightly
    else
        toolchain=stable
    fi
fi
if [ "$toolchain" = nightly ]; then
    fuzz=(cargo +nightly fuzz)
else
    echo "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo "+$toolchain" fuzz)
fi

# Keep fuzz builds out of the main target directory's way.
target_dir=(--target-dir "${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}")

cd fuzz
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi

# One build for every target, then short runs.
"${fuzz[@]}" build "${target_dir[@]}"

status=0
summary=()
for target in "${targets[@]}"; do
    log="$(mktemp)"
    echo "== $target: ${seconds} s"
    if "${fuzz[@]}" run "${target_dir[@]}" "$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="CRASH (see fuzz/artifacts/$target/)"
        status=1
        tail -n 40 "$log"
    fi
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)"
    summary+=("$(printf '%-18s %12s execs  %s' "$target" "${runs:-?}" "$result")")
    rm -f "$log"
done

echo
echo "fuzz summary (${seconds} s per target):"
printf '%s\n' "${summary[@]}"
exit "$status"
