#!/usr/bin/env bash
# Checks the requests the messaging adapters build (SendGrid, Twilio SMS/WhatsApp, WhatsApp Cloud
# API) against the vendors' own API descriptions: starts one pinned Stoplight Prism mock per spec
# on loopback, runs the adapters' spec tests against them with ORDER_AGENT_REQUIRE_PRISM=1 (so a
# missing mock fails instead of skipping; each test also sends a negative control that Prism must
# reject), then stops Prism. Also runs the SMTP tests against a real SMTP server (aiosmtpd).
#
#   spec-check/messaging.sh      # from anywhere; needs node 20, npm, cargo, python3 + aiosmtpd
#                                # and ../shared/specs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
specs="$root/../shared/specs"

# name | spec file below ../shared/specs | env var the tests read | cargo test target | feature
checks=(
    "sendgrid|sendgrid/mail_v3.json|ORDER_AGENT_PRISM_SENDGRID|sendgrid|sendgrid"
    "twilio|twilio/api_v2010.json|ORDER_AGENT_PRISM_TWILIO|twilio|twilio"
    "whatsapp|whatsapp/business-messaging-api_v23.0.yaml|ORDER_AGENT_PRISM_WHATSAPP|whatsapp|whatsapp"
)

if [[ ! -x "$here/node_modules/.bin/prism" ]]; then
    npm ci --prefix "$here" --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
    echo "spec-check/messaging: npm ci done after ${SECONDS}s"
fi
prism="$here/node_modules/.bin/prism"

logs="$(mktemp -d)"
pids=()
stop_prism() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$logs"
}
trap stop_prism EXIT

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

tests=()
features=(smtp)
for check in "${checks[@]}"; do
    IFS='|' read -r name spec var target feature <<<"$check"
    if [[ ! -f "$specs/$spec" ]]; then
        echo "spec-check/messaging: $specs/$spec not found" >&2
        exit 1
    fi
    port="$(free_port)"
    "$prism" mock -h 127.0.0.1 -p "$port" "$specs/$spec" >"$logs/$name.log" 2>&1 &
    pids+=("$!")
    export "$var=http://127.0.0.1:$port"
    tests+=(--test "$target")
    features+=("$feature")
    echo "spec-check/messaging: prism for $name on 127.0.0.1:$port"
done

for i in "${!checks[@]}"; do
    IFS='|' read -r name _ <<<"${checks[$i]}"
    for _ in $(seq 1 1200); do
        grep -q "Prism is listening" "$logs/$name.log" && break
        kill -0 "${pids[$i]}" 2>/dev/null || break
        sleep 0.5
    done
    if ! grep -q "Prism is listening" "$logs/$name.log"; then
        echo "spec-check/messaging: prism for $name did not start" >&2
        cat "$logs/$name.log" >&2
        exit 1
    fi
    echo "spec-check/messaging: prism for $name listening after ${SECONDS}s"
done

cd "$root"
feature_list="$(IFS=,; echo "${features[*]}")"
ORDER_AGENT_REQUIRE_PRISM=1 cargo test -p order-agent-adapters --features "$feature_list" \
    "${tests[@]}" --test smtp
echo "spec-check/messaging: done after ${SECONDS}s"
