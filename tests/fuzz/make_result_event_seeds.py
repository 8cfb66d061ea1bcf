#!/usr/bin/env python3
"""Writes the seed corpus of the result_event fuzzer: valid WorkerEvent
messages (proto/sweep.proto) of each kind, encoded by hand in protobuf's wire
format so that no protobuf package is needed.

usage: make_result_event_seeds.py [OUT_DIR]   (default: corpus/result_event beside it)"""

import os
import struct
import sys


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def i64(field, n):
    return key(field, 0) + varint(n)


def f64(field, x):
    return key(field, 1) + struct.pack("<d", x)


def blob(field, data):
    data = data.encode() if isinstance(data, str) else data
    return key(field, 2) + varint(len(data)) + data


def header(trial=7, round_=1, delivery=1, ticket=3, worker="w1", time=1.7e9):
    return i64(1, trial) + i64(2, round_) + i64(3, delivery) + blob(4, worker) + f64(5, time) + i64(9, ticket)


def outcome(ok=True, error="", metrics=None, curve=0, artifacts=()):
    m = bytearray(i64(1, 1 if ok else 0))
    if error:
        m += blob(2, error)
    for name, value in (metrics or {}).items():
        m += blob(3, blob(1, name) + f64(2, value))
    for step in range(curve):
        m += blob(4, i64(1, step * 10) + f64(2, 2.0 - step * 0.01) + f64(7, 1e-3))
    for name, mime, data in artifacts:
        m += blob(5, blob(1, name) + blob(2, mime) + blob(3, data))
    m += f64(6, 1.7e9) + f64(7, 1.7e9 + 5)
    return bytes(m)


def curve_points(first, count):
    return b"".join(blob(6, i64(1, first + k * 10) + f64(2, 2.0 - k * 0.01) + f64(7, 1e-3)) for k in range(count))


def metric_map(field, metrics):
    return b"".join(blob(field, blob(1, name) + f64(2, value)) for name, value in metrics.items())


SEEDS = {
    "progress": header() + blob(6, i64(1, 20) + i64(2, 40) + f64(3, 1.5) + f64(4, 1e-3)),
    # Progress with the curve points logged since the previous one (field 6 of Progress).
    "progress_curve": header() + blob(6, i64(1, 50) + i64(2, 900) + f64(3, 1.2) + f64(4, 1e-3) + f64(5, 20.0)
                                      + curve_points(10, 5)),
    # Paused (WorkerEvent field 10): step, metrics, curve (field 3), finished_at.
    "paused": header() + blob(10, i64(1, 300) + metric_map(2, {"steps": 300, "loss.total": 0.8,
                                                               "eval.2m.fraction_grid.0.3": 0.25,
                                                               "eval.2m.max_score60": float("nan")})
                              + b"".join(blob(3, i64(1, 280 + k * 10) + f64(2, 0.8)) for k in range(3))
                              + f64(4, 1.7e9 + 9)),
    # Evaluation (WorkerEvent field 11): step, metrics.
    "evaluation": header() + blob(11, i64(1, 1000) + metric_map(2, {"eval.2m.n_grid": 3, "eval.2m.max_score60": 0.4})),
    "paused_no_step": header() + blob(10, metric_map(2, {"steps": 1})),
    "attempt_error": header(delivery=2) + blob(8, blob(1, "loss.sep is not finite at step 7") + f64(2, 1.7e9)),
    "outcome_ok": header() + blob(7, outcome(metrics={"loss.total": 0.5, "steps": 40, "eval.2m.max_score60": float("nan")},
                                            curve=12, artifacts=[("2m/ratemaps.png", "image/png", b"\x89PNG\r\n\x1a\n")])),
    "outcome_failed": header(delivery=4) + blob(7, outcome(ok=False, error="delivered 4 times (limit 3); last error: boom")),
    "no_ticket": header(ticket=0) + blob(7, outcome(metrics={"loss.total": 1.0})),
    "no_kind": header(),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "corpus", "result_event")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + ".pb"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
