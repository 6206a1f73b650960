#!/usr/bin/env python3
"""Learns the English word weights of the built-in understanding from the Bitext dev set.

Usage (from the workspace root, standard library only, deterministic):

    python3 scripts/train_nlu_weights.py [BITEXT_JSONL] [--cv] [--holdout] [--out PATH]

Default input: ../shared/data/intents/bitext/bitext_4514_eval.jsonl
Output: order-agent-core/src/understanding/learned_en.tsv

The model is a multinomial logistic regression over binary unigram and bigram features of the
normalised text (lower-cased, accents folded, tokens containing digits dropped), the same
normalisation as `order-agent-core/src/understanding/normalize.rs`. Only aggregated weights are
written: features seen in at least MIN_DF messages, weights rounded, small weights pruned. The
artefact holds no message of the data set. `--cv` prints 5-fold cross-validated figures (held-out
messages, no typo correction or hand-written lexicon) so the in-sample figures of `nlu_eval` can be
read honestly. `--holdout` trains on the lines whose 0-based index is not a multiple of 5 and writes
to /tmp/nlu_holdout_weights.tsv (or `--out`), so that the whole Rust pipeline can be measured on the
other fifth:

    python3 scripts/train_nlu_weights.py --holdout
    cargo run --release -p order-agent-examples --example nlu_eval -- \
        --weights /tmp/nlu_holdout_weights.tsv --fold 5:0
"""

import json
import math
import os
import random
import sys
import unicodedata

INTENTS = [
    "wismo",
    "return",
    "exchange",
    "refund_request",
    "refund_status",
    "cancel_order",
    "change_shipping_address",
    "modify_order_items",
    "policy_question",
    "human_escalation",
    "complaint",
    "out_of_scope",
]
MIN_DF = 3
EPOCHS = 25
L2 = 1e-4
LEARNING_RATE = 0.5
PRUNE = 0.2
SEED = 5
OUT = "order-agent-core/src/understanding/learned_en.tsv"


def fold(text):
    out = []
    for ch in text.lower():
        if ch == "ß":
            out.append("ss")
        elif ch == "œ":
            out.append("oe")
        elif ch == "æ":
            out.append("ae")
        else:
            base = unicodedata.normalize("NFD", ch)[0]
            out.append(base if base.isascii() else " ")
    return "".join(out)


def tokens(text):
    words = []
    current = []
    for ch in fold(text):
        if ("a" <= ch <= "z") or ("0" <= ch <= "9"):
            current.append(ch)
        else:
            if current:
                words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [w for w in words if not any(c.isdigit() for c in w)]


NAME_ENTITIES = {"person_name", "delivery_city", "delivery_country"}


def without_names(row):
    """The text with people's names, cities and countries blanked: weights must not hang on them."""
    text = row["text"]
    for e in sorted(row.get("entities", []), key=lambda e: -e.get("start", 0)):
        if e.get("type") in NAME_ENTITIES and e.get("span_matches_value", True):
            text = text[: e["start"]] + " " + text[e["end"]:]
    return text


def features(text):
    toks = tokens(text)
    feats = set(toks)
    for a, b in zip(toks, toks[1:]):
        feats.add(a + " " + b)
    return feats


def train(rows, vocab, classes):
    index = {f: i for i, f in enumerate(vocab)}
    k = len(classes)
    weights = [[0.0] * k for _ in vocab]
    bias = [0.0] * k
    grad_sq = [[1e-8] * k for _ in vocab]
    bias_sq = [1e-8] * k
    data = [([index[f] for f in sorted(features(t)) if f in index], classes.index(y)) for t, y in rows]
    rng = random.Random(SEED)
    order = list(range(len(data)))
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for n in order:
            feats, y = data[n]
            scores = [bias[c] + sum(weights[f][c] for f in feats) for c in range(k)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            for c in range(k):
                g = exps[c] / total - (1.0 if c == y else 0.0)
                for f in feats:
                    gf = g + L2 * weights[f][c]
                    grad_sq[f][c] += gf * gf
                    weights[f][c] -= LEARNING_RATE * gf / math.sqrt(grad_sq[f][c])
    return weights, bias


def vocabulary(rows):
    df = {}
    for text, _ in rows:
        for f in features(text):
            df[f] = df.get(f, 0) + 1
    return sorted(f for f, n in df.items() if n >= MIN_DF)


def predict(weights, bias, index, text):
    scores = list(bias)
    for f in features(text):
        i = index.get(f)
        if i is not None:
            for c in range(len(scores)):
                scores[c] += weights[i][c]
    return max(range(len(scores)), key=lambda c: scores[c])


def cross_validate(rows, classes):
    folds = 5
    truth, guess = [], []
    for k in range(folds):
        train_rows = [r for i, r in enumerate(rows) if i % folds != k]
        test_rows = [r for i, r in enumerate(rows) if i % folds == k]
        vocab = vocabulary(train_rows)
        weights, bias = train(train_rows, vocab, classes)
        index = {f: i for i, f in enumerate(vocab)}
        for text, y in test_rows:
            truth.append(y)
            guess.append(classes[predict(weights, bias, index, text)])
    in_scope = [c for c in classes if c != "out_of_scope"]
    f1s = []
    for c in in_scope:
        tp = sum(1 for t, g in zip(truth, guess) if t == c and g == c)
        fp = sum(1 for t, g in zip(truth, guess) if t != c and g == c)
        fn = sum(1 for t, g in zip(truth, guess) if t == c and g != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    oos = [g for t, g in zip(truth, guess) if t == "out_of_scope"]
    print(f"5-fold cv: in-scope macro-f1 {sum(f1s) / len(f1s):.3f}, "
          f"out-of-scope rejection {sum(1 for g in oos if g == 'out_of_scope') / len(oos):.3f}")


def main():
    argv = sys.argv[1:]
    out_path = OUT
    if "--out" in argv:
        i = argv.index("--out")
        out_path = argv[i + 1]
        del argv[i:i + 2]
    elif "--holdout" in argv:
        out_path = "/tmp/nlu_holdout_weights.tsv"
    args = [a for a in argv if not a.startswith("--")]
    path = args[0] if args else "../shared/data/intents/bitext/bitext_4514_eval.jsonl"
    if not os.path.exists(path):
        sys.exit(f"no data set at `{path}`")
    with open(path, encoding="utf-8") as f:
        rows = [(without_names(r), r["mapped_intent"]) for r in map(json.loads, f)]
    classes = [c for c in INTENTS if any(y == c for _, y in rows)]
    if "--cv" in argv:
        cross_validate(rows, classes)
    if "--holdout" in argv:
        rows = [r for i, r in enumerate(rows) if i % 5 != 0]
    vocab = vocabulary(rows)
    weights, bias = train(rows, vocab, classes)
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("# Learned English weights of the built-in understanding. Generated by\n")
        out.write("# scripts/train_nlu_weights.py from the Bitext customer-support sample\n")
        out.write("# (CDLA-Sharing-1.0, mapped_intent labels); aggregated weights only, no message text.\n")
        out.write("# Lines: `feature<TAB>intent:weight,...`; no intercept, so text without English\n")
        out.write("# features scores 0 for every intent.\n")
        for f, w in zip(vocab, weights):
            kept = [f"{classes[c]}:{w[c]:.3f}" for c in range(len(classes)) if abs(w[c]) >= PRUNE]
            if kept:
                out.write(f"{f}\t{','.join(kept)}\n")
    print(f"wrote {out_path}: {len(vocab)} features from {len(rows)} messages, classes {classes}")


if __name__ == "__main__":
    main()
