#!/usr/bin/env bash
# Checks the requests the vendor adapters build against the vendors' own API descriptions
# (payments, carriers, OMS and messaging), and the SMTP adapter against a real SMTP server:
# installs the pinned Stoplight Prism (npm ci), starts one Prism mock per spec on loopback, runs
# the Rust spec tests against them (which fail on any request violation and on any negative
# control that gets through), then stops Prism.
#
#   spec-check/run.sh            # from anywhere; needs node 20, npm, cargo, python3 + aiosmtpd
#                                # and ../shared/specs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
specs="$root/../shared/specs"

# name | spec file below ../shared/specs | env var the tests read | cargo test target | feature
# (one line per checked spec; add a vendor by adding its line)
checks=(
    "stripe|stripe/refunds.request-subset.json|ORDER_AGENT_PRISM_STRIPE|stripe_spec|stripe"
    "shipengine|shipengine/openapi.yaml|ORDER_AGENT_PRISM_SHIPENGINE|shipengine_spec|shipengine"
    "adyen|adyen/CheckoutService-v71.json|ORDER_AGENT_PRISM_ADYEN|adyen_spec|adyen"
    "datatrans|datatrans/openapi-2.0.45.json|ORDER_AGENT_PRISM_DATATRANS|datatrans_spec|datatrans"
    "ups-tracking|ups/ups_Tracking.yaml|ORDER_AGENT_PRISM_UPS_TRACKING|ups_spec|ups"
    "ups-shipping|ups/ups_Shipping.yaml|ORDER_AGENT_PRISM_UPS_SHIPPING|ups_spec|ups"
    "ups-oauth|ups/ups_OAuthClientCredentials.yaml|ORDER_AGENT_PRISM_UPS_OAUTH|ups_spec|ups"
    "commercetools|commercetools/orders.request-subset.json|ORDER_AGENT_PRISM_COMMERCETOOLS|commercetools_spec|commercetools"
    "sendgrid|sendgrid/mail_v3.json|ORDER_AGENT_PRISM_SENDGRID|sendgrid|sendgrid"
    "twilio|twilio/api_v2010.json|ORDER_AGENT_PRISM_TWILIO|twilio|twilio"
    "whatsapp|whatsapp/business-messaging-api_v23.0.yaml|ORDER_AGENT_PRISM_WHATSAPP|whatsapp|whatsapp"
)

cd "$here"
npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
echo "spec-check: npm ci done after ${SECONDS}s"
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
features=()
for check in "${checks[@]}"; do
    IFS='|' read -r name spec var target feature <<<"$check"
    if [[ ! -f "$specs/$spec" ]]; then
        echo "spec-check: $specs/$spec not found" >&2
        exit 1
    fi
    port="$(free_port)"
    "$prism" mock -h 127.0.0.1 -p "$port" "$specs/$spec" >"$logs/$name.log" 2>&1 &
    pids+=("$!")
    export "$var=http://127.0.0.1:$port"
    tests+=(--test "$target")
    features+=("$feature")
    echo "spec-check: prism for $name on 127.0.0.1:$port"
done

# Big specs take a while to load; wait until every mock listens (or its process ends).
for i in "${!checks[@]}"; do
    IFS='|' read -r name _ <<<"${checks[$i]}"
    for _ in $(seq 1 1200); do
        grep -q "Prism is listening" "$logs/$name.log" && break
        kill -0 "${pids[$i]}" 2>/dev/null || break
        sleep 0.5
    done
    if ! grep -q "Prism is listening" "$logs/$name.log"; then
        echo "spec-check: prism for $name did not start" >&2
        cat "$logs/$name.log" >&2
        exit 1
    fi
done

echo "spec-check: every prism listening after ${SECONDS}s"

cd "$root"
feature_list="$(IFS=,; echo "${features[*]}")"
# The SMTP adapter has no API description: its tests run against a real SMTP server (aiosmtpd).
ORDER_AGENT_REQUIRE_PRISM=1 cargo test -p order-agent-adapters --features "$feature_list,smtp" \
    "${tests[@]}" --test smtp
