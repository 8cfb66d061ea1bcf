#!/bin/sh
# Writes the seed corpus of the trial_job fuzzer (tests/fuzz/trial_job_fuzz.cc):
# TrialJob messages encoded by protoc from text, valid ones and malformed ones.
# Run from anywhere: tests/fuzz/make_trial_job_seeds.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)/corpus/trial_job
proto=$here/../../../../proto
enc() { protoc --proto_path="$proto" --encode=sic.v1.TrialJob sweep.proto > "$here/$1"; }
q() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }  # a text-format string

smoke='{"model":{"n_units":32,"mlp_hidden":64},"data":{"batch_size":16,"seq_len":20},"optim":{"lr":0.001,"steps":100,"plateau":{"interval":50}},"run":{"threads":1,"checkpoint_every":25,"log_every":10},"eval":{"arenas":"2","bin_size":0.1,"trajectories":50,"steps":100}}'
printf 'trial_id: 1 sweep_id: 1 round: 1 name: "baseline/seed=0" config_json: "%s"\n' "$(q "$smoke")" | enc valid_smoke.bin
printf 'trial_id: 9007199254740993 sweep_id: 2 round: 3 name: "no_cap/loss.lambda_cap=0/seed=1" config_json: "%s"\n' \
  "$(q '{"loss":{"lambda_cap":0},"data":{"velocity":"walk","walk":{"arena_size":2.2}},"run":{"device":"cuda:9"}}')" | enc valid_walk.bin
printf 'trial_id: 2 sweep_id: 1 round: 1 name: "empty" config_json: "{}"\n' | enc valid_empty_config.bin
printf 'trial_id: 3 sweep_id: 1 round: 1 name: "torn" config_json: "%s"\n' "$(q '{"run": ')" | enc bad_torn_json.bin
printf 'trial_id: 4 sweep_id: 1 round: 1 name: "deep" config_json: "%s"\n' "$(q '{"a":[[[[[[[[[[[[1]]]]]]]]]]]]}')" | enc bad_deep.bin
printf 'trial_id: 5 sweep_id: 1 round: 1 name: "range" config_json: "%s"\n' "$(q '{"loss":{"sigma_g":-1},"model":{"n_units":1e400}}')" | enc bad_range.bin
printf 'trial_id: 6 sweep_id: 1 round: 1 name: "key" config_json: "%s"\n' "$(q '{"optim":{"steps":1.5,"nope":1}}')" | enc bad_key.bin
printf 'trial_id: 0 sweep_id: 1 round: 1 name: "no id" config_json: "{}"\n' | enc bad_no_id.bin
printf 'trial_id: -7 sweep_id: -1 round: 0 name: "negative" config_json: "[]"\n' | enc bad_negative_ids.bin
printf 'trial_id: 8 sweep_id: 1 round: 1 name: "a\\nforged line" config_json: "{}"\n' | enc bad_name.bin
printf '\017 not a protobuf' > "$here/bad_wire_type.bin"
# Rungs and discards (issue 11): a pause job, one past optim.steps, a discard without a config.
printf 'trial_id: 10 sweep_id: 1 round: 1 name: "rung" ticket: 4 stop_at_step: 50 config_json: "%s"\n' "$(q "$smoke")" | enc valid_rung.bin
printf 'trial_id: 11 sweep_id: 1 round: 1 name: "past" stop_at_step: 101 config_json: "%s"\n' "$(q "$smoke")" | enc bad_stop_past_steps.bin
printf 'trial_id: 12 sweep_id: 1 round: 2 name: "discard" ticket: 5 discard: true\n' | enc valid_discard.bin
