#!/usr/bin/env bash
# The browser test: the web chat and the escalation page of `order-agent serve` in headless
# Chromium (Debian's `chromium`, driven by playwright-core from npm; no browser is downloaded).
#
# Usage: tests/browser/run.sh   (from anywhere; exits non-zero when anything fails)
#
# It installs the pinned npm packages (`npm ci`), installs Debian's chromium when it is missing
# and this runs as root, builds the binary, starts `order-agent serve --in-memory` on a free
# port, runs the test with node's test runner, and stops the service whatever happened.
# CHROMIUM_PATH overrides /usr/bin/chromium; cargo honours CARGO_TARGET_DIR as usual.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "browser test: installing Debian's chromium"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    else
        echo "browser test: $chromium is missing; install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
        exit 1
    fi
fi
command -v node >/dev/null || { echo "browser test: node is missing (apt-get install nodejs npm)" >&2; exit 1; }

cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

cd "$root"
cargo build -p order-agent-cli --bin order-agent
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')"
bin="$target_dir/debug/order-agent"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --in-memory --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
    line="$(head -n 1 "$work/stdout" 2>/dev/null || true)"
    if [ -n "$line" ]; then
        url="${line#listening on }"
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "browser test: the service did not start:" >&2
    cat "$work/stderr" >&2
    exit 1
fi
echo "browser test: order-agent serve at $url"

cd "$here"
ORDER_AGENT_URL="$url" CHROMIUM_PATH="$chromium" node --test chat.test.mjs
