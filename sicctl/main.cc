// sicctl: the user's client of sic-coordinator (gRPC). Every error is one line
// on stderr, "sicctl: <reason>", and a non-zero exit (1: the call failed;
// 2: bad usage; 3: a watched sweep ended with failed or canceled trials).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "common/resources.h"
#include "proto/sweep.grpc.pb.h"
#include "sicctl/table.h"

namespace {

using sic::v1::SweepService;

struct Globals {
  std::string coordinator = "127.0.0.1:50051";
  std::string token;
  std::string format = "table";
};

// A failed call as the user should read it.
int Fail(const std::string& message, int code = 1) {
  std::cerr << "sicctl: " << message << "\n";
  return code;
}

int FailRpc(const grpc::Status& s, const Globals& g) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // Either the coordinator is down, or it answered that Redis is: its own
    // answers carry the error's code name in their details (status_map.h).
    if (!s.error_details().empty()) return Fail(s.error_message());
    return Fail("cannot reach the coordinator at " + g.coordinator + " (is sic-coordinator running? set --coordinator or SIC_COORDINATOR)");
  }
  return Fail(s.error_message());
}

std::unique_ptr<grpc::ClientContext> Context(const Globals& g, int seconds = 15) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (seconds > 0) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  if (!g.token.empty()) ctx->AddMetadata("authorization", "Bearer " + g.token);
  return ctx;
}

std::string Fixed(double v, int digits = 4) {
  if (std::isnan(v)) return "nan";
  std::ostringstream out;
  out.precision(digits);
  out << v;
  return out.str();
}

std::string Time(double t) {
  if (t <= 0) return "";
  const time_t secs = static_cast<time_t>(t);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &utc);
  return buf;
}

// The trial statuses in life-cycle order, as common/trial_state.cc lists them.
const char* const kStatuses[] = {"waiting", "pending", "queued", "running", "paused",
                                 "succeeded", "failed", "stopped", "canceled"};

int64_t Count(const sic::v1::Sweep& s, const char* status) {
  auto it = s.counts().find(status);
  return it == s.counts().end() ? 0 : it->second;
}

// Trials that are final: succeeded, failed, stopped early, canceled
// (common/trial_state.cc; the CLI links no store code).
int64_t Done(const sic::v1::Sweep& s) {
  return Count(s, "succeeded") + Count(s, "failed") + Count(s, "stopped") + Count(s, "canceled");
}

std::string Summary(const sic::v1::Sweep& s) {
  std::ostringstream out;
  out << Done(s) << "/" << s.total() << " done (" << Count(s, "succeeded") << " ok, " << Count(s, "failed")
      << " failed, ";
  if (Count(s, "stopped") > 0) out << Count(s, "stopped") << " stopped early, ";
  out << Count(s, "canceled") << " canceled), " << Count(s, "running") << " running, ";
  if (Count(s, "paused") > 0) out << Count(s, "paused") << " paused, ";
  out << Count(s, "queued") + Count(s, "pending") + Count(s, "waiting") << " waiting";
  return out.str();
}

// One sweep's state as a row, for --format json and csv.
sic::Table SweepTable() {
  std::vector<std::string> header = {"sweep", "name", "total", "done"};
  for (const char* s : kStatuses) header.push_back(s);
  return sic::Table(header);
}
std::vector<std::string> SweepRow(const sic::v1::Sweep& s) {
  std::vector<std::string> row = {std::to_string(s.id()), s.name(), std::to_string(s.total()), s.done() ? "yes" : "no"};
  for (const char* k : kStatuses) row.push_back(std::to_string(Count(s, k)));
  return row;
}

std::string Bar(const sic::v1::Sweep& s, int width = 30) {
  const int64_t done = Done(s);
  const int filled = s.total() > 0 ? static_cast<int>(width * done / s.total()) : width;
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

int ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return Fail(path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  return 0;
}

// A running trial's latest losses and latest evaluation during training, one
// line: "trial 7 seed=1  step 12400/60000  loss -0.41 (sep 0.03 inv 0.01 cap
// -0.65 coniso 0.004)  eval@12000 2m: 6 grid, 12 band, 3 square, 2 oblique, ...
// 1 module(s), largest 0.917 m (tiling 1.53); max score 0.41". A pattern an
// older evaluation did not count shows as "?".
std::string LiveLine(const sic::v1::Trial& t) {
  const auto& m = t.latest();
  auto get = [&](const std::string& k) { auto it = m.find(k); return it == m.end() ? std::nan("") : it->second; };
  std::ostringstream out;
  out << "  trial " << t.id() << " " << t.name() << "  step " << t.step() << "/" << t.total_steps();
  if (m.count("loss.total")) {
    out << "  loss " << Fixed(get("loss.total"), 3) << " (sep " << Fixed(get("loss.sep"), 3) << " inv "
        << Fixed(get("loss.inv"), 3) << " cap " << Fixed(get("loss.cap"), 3) << " coniso "
        << Fixed(get("loss.coniso"), 3) << ")";
  }
  if (!m.count("eval_step")) return out.str();
  // The first arena's headline numbers (metric names: docs/analysis.md).
  std::string arena;
  for (const auto& [k, v] : m) {
    if (k.rfind("eval.", 0) == 0 && k.find(".n_grid") != std::string::npos) {
      arena = k.substr(0, k.find(".n_grid"));
      break;
    }
  }
  out << "  eval@" << static_cast<int64_t>(get("eval_step"));
  if (arena.empty()) return out.str();
  auto n = [&](const std::string& k) { double v = get(arena + "." + k); return std::isnan(v) ? std::string("?") : std::to_string(static_cast<int64_t>(v)); };
  out << " " << arena.substr(5) << ": " << n("n_grid") << " grid, " << n("patterns.band") << " band, "
      << n("patterns.square") << " square, " << n("patterns.oblique") << " oblique, " << n("silent_units")
      << " silent of " << n("n_units") << "; "
      << n("n_modules") << " module(s)";
  // Modules that may only echo a longer one's lattice (docs/analysis.md, "Harmonics").
  if (const double distinct = get(arena + ".n_modules_distinct"), all = get(arena + ".n_modules");
      !std::isnan(distinct) && distinct < all) {
    out << " (" << static_cast<int64_t>(all - distinct) << " may be a harmonic)";
  }
  // The largest module, and the period ratio of the two largest (evaluations
  // before these metrics existed have neither).
  if (const double period = get(arena + ".period_m"); !std::isnan(period)) {
    out << ", largest " << Fixed(period, 3) << " m (tiling " << Fixed(get(arena + ".phase_tiling"), 3) << ")";
  }
  if (const double ratio = get(arena + ".period_ratio"); !std::isnan(ratio)) out << ", period ratio " << Fixed(ratio, 3);
  out << "; max score " << Fixed(get(arena + ".max_score60"), 3);
  return out.str();
}

// The sweep's running trials (at most `limit`) with their latest numbers;
// empty when they cannot be listed (the progress line goes on without them).
std::vector<sic::v1::Trial> Running(SweepService::Stub& stub, const Globals& g, int64_t sweep_id, int limit) {
  sic::v1::ListTrialsRequest req;
  req.set_sweep_id(sweep_id);
  req.set_running(true);
  req.set_limit(limit);
  sic::v1::ListTrialsResponse resp;
  if (!stub.ListTrials(Context(g).get(), req, &resp).ok()) return {};
  return {resp.trials().begin(), resp.trials().end()};
}

// Streams a sweep's state until it is done; exit 0 when every trial succeeded.
// table: a progress line and, under it, a line per running trial with its
// latest losses and evaluation during training (on a terminal the block is
// redrawn; otherwise a trial's line is printed when it has a new
// evaluation); json: one object per line at each change; csv: a header, then
// one row per change.
int Watch(SweepService::Stub& stub, const Globals& g, int64_t sweep_id) {
  constexpr int kMaxLiveLines = 8;
  auto ctx = Context(g, 0);
  sic::v1::SweepRef ref;
  ref.set_sweep_id(sweep_id);
  auto reader = stub.Watch(ctx.get(), ref);
  sic::v1::Sweep s;
  const bool tty = isatty(STDOUT_FILENO) && g.format == "table";
  bool any = false;
  std::string last, last_block;
  int drawn = 0;                                  // lines of the block below the progress line
  std::map<int64_t, double> printed_eval;         // not a terminal: trial -> eval step printed
  auto last_live = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (reader->Read(&s)) {
    const std::string line = "sweep " + std::to_string(s.id()) + " " + s.name() + " " + Bar(s) + " " + Summary(s);
    if (g.format == "table") {
      // The running trials' lines at most every 2 s (a keep-alive comes every 5 s).
      std::vector<std::string> live;
      const auto now = std::chrono::steady_clock::now();
      const bool refresh = Count(s, "running") > 0 && now - last_live > std::chrono::seconds(2);
      if (refresh) {
        last_live = now;
        const auto running = Running(stub, g, sweep_id, kMaxLiveLines + 1);
        for (size_t i = 0; i < running.size() && i < kMaxLiveLines; ++i) {
          const auto& t = running[i];
          if (tty) {
            live.push_back(LiveLine(t));
          } else if (auto it = t.latest().find("eval_step"); it != t.latest().end() && printed_eval[t.id()] != it->second) {
            printed_eval[t.id()] = it->second;
            live.push_back(LiveLine(t));
          }
        }
        if (tty && running.size() > kMaxLiveLines) live.push_back("  ... and more running");
      }
      std::string block;
      for (const auto& l : live) block += l + "\n";
      if (line == last && (!refresh || (tty && block == last_block) || (!tty && live.empty()))) continue;
      last = line;
      if (tty) {
        if (refresh || Count(s, "running") == 0) last_block = block;
        // Up over the previous block, then the progress line and the block again.
        if (drawn > 0) std::cout << "\033[" << drawn << "A";
        std::cout << "\r\033[J" << line;
        drawn = 0;
        for (size_t k = 0; k < last_block.size(); ++k) drawn += last_block[k] == '\n';
        if (drawn > 0) std::cout << "\n" << last_block.substr(0, last_block.size() - 1);
        std::cout << std::flush;
      } else {
        std::cout << line << "\n" << block << std::flush;
      }
    } else {
      if (line == last) continue;  // keep-alives
      last = line;
      sic::Table table = SweepTable();
      table.Add(SweepRow(s));
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format, /*header=*/!any);
      std::cout << std::flush;
    }
    any = true;
  }
  if (tty && any) std::cout << "\n";
  grpc::Status st = reader->Finish();
  if (!st.ok()) return FailRpc(st, g);
  if (!s.done()) return Fail("sweep " + std::to_string(sweep_id) + ": watch ended before the sweep finished");
  if (Count(s, "failed") + Count(s, "canceled") > 0) {
    return Fail("sweep " + std::to_string(sweep_id) + " ended with " + std::to_string(Count(s, "failed")) +
                    " failed and " + std::to_string(Count(s, "canceled")) + " canceled trials",
                3);
  }
  return 0;
}

// What a trial of an adaptive sweep is doing, in words: "paused at rung 1
// (3000 steps)", "stopped early at rung 0 (1000/9000 steps)", "running,
// promoted from rung 1". A trial that reached a rung pauses there, so one
// with a rung that is neither paused nor stopped was promoted from it.
//
// A queued trial of a device class that no live worker serves says so:
// "queued, waiting for a worker of class cuda" (or "... of class cuda with
// 40 GB per GPU"; `served` holds the queues some live worker serves; null
// when the workers could not be listed: then nothing is claimed about them).
std::string TrialState(const sic::v1::Trial& t, const std::set<std::string>* served = nullptr) {
  if (served && (t.status() == "queued" || t.status() == "pending") && !t.device_class().empty() &&
      !served->count(t.device_class())) {
    return t.status() + ", waiting for a worker of " + sic::DescribeQueue(t.device_class());
  }
  const std::string rung = "rung " + std::to_string(t.rung());
  if (t.status() == "paused") return "paused at " + rung + " (" + std::to_string(t.steps_done()) + " steps)";
  if (t.status() == "stopped") {
    return "stopped early at " + rung + " (" + std::to_string(t.steps_done()) + "/" +
           std::to_string(t.total_steps()) + " steps)";
  }
  if (t.rung() < 0) return t.status();
  if (t.status() == "failed" || t.status() == "canceled") return t.status() + " after " + rung;
  return t.status() + ", promoted from " + rung;
}

// Steps trained against what every started configuration would have cost
// trained to its optim.steps (as the REST API's /search computes them).
struct StepsSaved {
  int64_t trained = 0, full = 0;
  bool adaptive = false;  // any trial waiting, paused, stopped or at a rung
};

StepsSaved Steps(const sic::v1::ListTrialsResponse& trials) {
  StepsSaved out;
  for (const auto& t : trials.trials()) {
    if (t.rung() >= 0 || t.status() == "waiting" || t.status() == "paused" || t.status() == "stopped") {
      out.adaptive = true;
    }
    const bool final = t.status() == "failed" || t.status() == "stopped" || t.status() == "canceled";
    const int64_t done = t.status() == "succeeded" ? std::max(t.total_steps(), t.steps_done())
                         : final                   ? t.steps_done()
                                                   : std::max(t.steps_done(), t.step());
    if (t.started_at() > 0 || done > 0) {
      out.trained += done;
      out.full += t.total_steps();
    }
  }
  return out;
}

int Show(SweepService::Stub& stub, const Globals& g, int64_t sweep_id) {
  sic::v1::SweepRef ref;
  ref.set_sweep_id(sweep_id);
  sic::v1::Sweep sweep;
  if (auto st = stub.GetSweep(Context(g).get(), ref, &sweep); !st.ok()) return FailRpc(st, g);
  // In pages: one message of a big sweep with every metric would pass gRPC's
  // 4 MB receive limit.
  constexpr int64_t kPage = 500;
  sic::v1::ListTrialsResponse trials;
  for (int64_t offset = 0;; offset += kPage) {
    sic::v1::ListTrialsRequest req;
    req.set_sweep_id(sweep_id);
    req.set_offset(offset);
    req.set_limit(kPage);
    sic::v1::ListTrialsResponse page;
    if (auto st = stub.ListTrials(Context(g).get(), req, &page); !st.ok()) return FailRpc(st, g);
    for (auto& t : *page.mutable_trials()) *trials.add_trials() = std::move(t);
    if (page.trials_size() < kPage) break;
  }
  const StepsSaved steps = Steps(trials);
  // Which classes live workers serve, to tell a trial that waits for a class
  // nobody serves. Only a hint: when the workers cannot be listed (Redis
  // down, a token that may not), the trials are shown without it.
  std::set<std::string> waiting, served;
  for (const auto& t : trials.trials()) {
    if (t.status() == "queued" || t.status() == "pending") waiting.insert(t.device_class());
  }
  bool workers_known = false;
  if (!waiting.empty()) {
    sic::v1::ListWorkersResponse workers;
    workers_known = stub.ListWorkers(Context(g).get(), {}, &workers).ok();
    for (const std::string& q : waiting) {
      for (const auto& w : workers.workers()) {
        if (sic::Serves({w.classes().begin(), w.classes().end()}, w.gpu_memory_gb(), q)) served.insert(q);
      }
    }
  }
  const std::set<std::string>* served_if_known = workers_known ? &served : nullptr;
  if (g.format == "table") {
    std::cout << "sweep " << sweep.id() << " " << sweep.name() << " " << Bar(sweep) << " " << Summary(sweep) << "\n";
    std::cout << "owner " << (sweep.owner().empty() ? "-" : sweep.owner()) << ", priority " << sweep.priority()
              << (sweep.preempt() ? " (may preempt running trials of lower priority)" : "") << "\n";
    if (steps.adaptive && steps.full > 0) {
      const int64_t saved = steps.full - steps.trained;
      std::cout << "steps: " << steps.trained << " trained of " << steps.full
                << " for every started configuration in full; " << saved << " saved ("
                << static_cast<int>(std::lround(100.0 * saved / steps.full)) << "%)\n";
    }
  }
  if (sweep.dead_letters() > 0) {
    // On stderr in json and csv, so that their output stays parseable.
    std::ostream& out = g.format == "table" ? std::cout : std::cerr;
    out << sweep.dead_letters() << (sweep.dead_letters() == 1 ? " result" : " results")
        << " could not be recorded: " << (sweep.dead_letter_errors().empty() ? "" : sweep.dead_letter_errors(0)) << "\n";
  }
  // Headline metrics only in the table; json and csv carry every metric.
  std::vector<std::string> metric_keys;
  std::set<std::string> seen;
  for (const auto& t : trials.trials()) {
    for (const auto& [k, v] : t.metrics()) {
      auto ends = [&](const std::string& tail) {
        return k.size() > tail.size() && k.compare(k.size() - tail.size(), tail.size(), tail) == 0;
      };
      const bool headline = k == "loss.total" || ends(".max_score60") || ends(".n_grid") || ends(".n_modules");
      if ((g.format != "table" || headline) && seen.insert(k).second) metric_keys.push_back(k);
    }
  }
  std::sort(metric_keys.begin(), metric_keys.end());
  // The table says a trial's state in words (with its rung); json and csv
  // keep `status` a status and give the state, rung and steps as columns.
  const bool table_format = g.format == "table";
  std::vector<std::string> header = {"trial", "index", "name", "status"};
  if (!table_format) header.insert(header.end(), {"state", "device_class", "rung", "steps_done", "target_steps"});
  header.insert(header.end(), {"step", "attempts", "worker"});
  header.insert(header.end(), metric_keys.begin(), metric_keys.end());
  header.push_back("error");
  sic::Table table(header);
  for (const auto& t : trials.trials()) {
    std::vector<std::string> row = {std::to_string(t.id()), std::to_string(t.index()), t.name(),
                                    table_format ? TrialState(t, served_if_known) : t.status()};
    if (!table_format) {
      row.insert(row.end(), {TrialState(t, served_if_known), t.device_class(), t.rung() >= 0 ? std::to_string(t.rung()) : "",
                             std::to_string(t.steps_done()), std::to_string(t.target_steps())});
    }
    row.insert(row.end(), {std::to_string(t.step()) + "/" + std::to_string(t.total_steps()),
                           std::to_string(t.attempts()), t.worker()});
    for (const auto& k : metric_keys) {
      auto it = t.metrics().find(k);
      row.push_back(it == t.metrics().end() ? "" : Fixed(it->second));
    }
    row.push_back(t.error());
    table.Add(row);
  }
  table.Print(std::cout, g.format);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sicctl: submit and follow sweeps of SIC trainings (talks to sic-coordinator)"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--coordinator", g.coordinator, "coordinator HOST:PORT")->envname("SIC_COORDINATOR")->capture_default_str();
  app.add_option("--token", g.token, "your token (sicctl token create), or the shared one")->envname("SIC_TOKEN");
  app.add_option("--format", g.format, "output format")->check(CLI::IsMember({"table", "json", "csv"}))->capture_default_str();

  std::string file;
  int64_t sweep_id = 0;
  bool dry_run = false, watch = false, failed = false;
  std::string export_format;  // empty: the global --format when it is json, else csv
  auto* sweep_cmd = app.add_subcommand("sweep", "submit a sweep spec (JSON)");
  sweep_cmd->add_option("FILE", file, "the spec")->required();
  sweep_cmd->add_flag("--dry-run", dry_run, "print the trials it expands to; submit nothing");
  sweep_cmd->add_flag("--watch", watch, "follow it to the end");
  int64_t priority = 0;
  auto* priority_opt = sweep_cmd->add_option("--priority", priority, "higher is fed first (overrides the spec's)")
                           ->check(CLI::Range(int64_t{-1000}, int64_t{1000}));
  bool preempt = false;
  sweep_cmd->add_flag("--preempt", preempt,
                      "its trials may preempt running trials of lower priority (admin; sets the spec's \"preempt\")");
  std::string owner;
  auto* list_cmd = app.add_subcommand("list", "list sweeps");
  list_cmd->add_option("--owner", owner, "only the sweeps of this user");
  auto* set_priority_cmd = app.add_subcommand("priority", "set a sweep's priority (higher is fed first)");
  set_priority_cmd->add_option("SWEEP", sweep_id)->required();
  set_priority_cmd->add_option("N", priority, "in [-1000, 1000]")->required()
      ->check(CLI::Range(int64_t{-1000}, int64_t{1000}));
  auto* preempt_flag = set_priority_cmd->add_flag(
      "--preempt,!--no-preempt", preempt,
      "whether its trials may preempt running trials of lower priority (--preempt: admin); default: unchanged");
  // Tokens and the audit log (admin).
  std::string user, role;
  int64_t token_id = 0, limit = 100, offset = 0;
  auto* token_cmd = app.add_subcommand("token", "per-user tokens (admin)");
  token_cmd->require_subcommand(1);
  auto* token_create_cmd = token_cmd->add_subcommand("create", "a new token for USER, printed once");
  token_create_cmd->add_option("USER", user, "1-64 of letters, digits, '_', '-', '.'")->required();
  token_create_cmd->add_option("--role", role, "what it may do")->required()
      ->check(CLI::IsMember({"viewer", "member", "admin"}));
  auto* token_list_cmd = token_cmd->add_subcommand("list", "every token (never the tokens themselves)");
  auto* token_revoke_cmd = token_cmd->add_subcommand("revoke", "refuse a token from now on");
  token_revoke_cmd->add_option("ID", token_id, "its id (sicctl token list)")->required();
  std::string audit_user;
  auto* audit_cmd = app.add_subcommand("audit", "the audit log, newest first (admin)");
  audit_cmd->add_option("--user", audit_user, "only this user's calls");
  audit_cmd->add_option("--limit", limit, "rows at most")->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  audit_cmd->add_option("--offset", offset, "skip this many newest rows")->check(CLI::NonNegativeNumber);
  int64_t quota = 0;
  auto* quota_cmd = app.add_subcommand("quota", "a user's own cap on trials in flight, over --max-running-per-user");
  quota_cmd->require_subcommand(1);
  auto* quota_set_cmd = quota_cmd->add_subcommand("set", "USER may have at most N trials queued or running (admin)");
  quota_set_cmd->add_option("USER", user)->required();
  quota_set_cmd->add_option("N", quota, "in [0, 1000000]; 0: no cap for this user")->required()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  auto* quota_unset_cmd = quota_cmd->add_subcommand("unset", "USER's quota removed: the default applies (admin)");
  quota_unset_cmd->add_option("USER", user)->required();
  auto* quota_list_cmd = quota_cmd->add_subcommand("list", "every quota, and the default");
  auto* show_cmd = app.add_subcommand("show", "a sweep and its trials");
  show_cmd->add_option("SWEEP", sweep_id)->required();
  auto* watch_cmd = app.add_subcommand("watch", "a live progress bar until the sweep is done");
  watch_cmd->add_option("SWEEP", sweep_id)->required();
  auto* cancel_cmd = app.add_subcommand("cancel", "cancel every unfinished trial of a sweep");
  cancel_cmd->add_option("SWEEP", sweep_id)->required();
  auto* retry_cmd = app.add_subcommand("retry", "run failed trials again");
  retry_cmd->add_option("SWEEP", sweep_id)->required();
  retry_cmd->add_flag("--failed", failed, "retry the failed trials (required)")->required();
  auto* export_cmd = app.add_subcommand("export", "every trial with its overrides and metrics");
  export_cmd->add_option("SWEEP", sweep_id)->required();
  export_cmd->add_option("--format", export_format, "csv or json (default: the global --format if json, else csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  auto* workers_cmd = app.add_subcommand("workers", "workers seen recently");
  int64_t trial_id = 0;
  double value = 0;
  bool told_failed = false;
  auto* ask_cmd = app.add_subcommand("ask", "the next suggestion of an external search, as JSON "
                                            "{\"trial\", \"number\", \"params\"}; it is marked running");
  ask_cmd->add_option("SWEEP", sweep_id)->required();
  auto* tell_cmd = app.add_subcommand("tell", "the objective VALUE of a trial that ask handed out (or --failed)");
  tell_cmd->add_option("SWEEP", sweep_id)->required();
  tell_cmd->add_option("TRIAL", trial_id)->required();
  auto* value_opt = tell_cmd->add_option("VALUE", value, "the objective's value");
  tell_cmd->add_flag("--failed", told_failed, "the trial failed: the sampler ignores it")->excludes(value_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    return Fail(what + " (see sicctl --help)", 2);
  }

  auto channel = grpc::CreateChannel(g.coordinator, grpc::InsecureChannelCredentials());
  auto stub = SweepService::NewStub(channel);

  if (sweep_cmd->parsed()) {
    sic::v1::SubmitRequest req;
    if (int rc = ReadFile(file, *req.mutable_spec_json()); rc != 0) return rc;
    req.set_dry_run(dry_run);
    if (priority_opt->count() > 0) {
      req.set_has_priority(true);
      req.set_priority(priority);
    }
    req.set_preempt(preempt);
    sic::v1::SubmitResponse resp;
    if (auto st = stub->Submit(Context(g).get(), req, &resp); !st.ok()) {
      // The file's content is at fault (a key, a limit): name the file.
      if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
          st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        return Fail(file + ": " + st.error_message());
      }
      return FailRpc(st, g);
    }
    if (dry_run) {
      if (g.format == "table") {
        for (int i = 0; i < resp.trials_size(); ++i) std::cout << i << " " << resp.trials(i) << "\n";
      } else {
        sic::Table table({"index", "name"});
        for (int i = 0; i < resp.trials_size(); ++i) table.Add({std::to_string(i), resp.trials(i)});
        table.Print(std::cout, g.format);
      }
      std::cerr << resp.trials_size() << " trials\n";
      return 0;
    }
    if (g.format == "table") {
      std::cout << "sweep " << resp.sweep_id() << ": " << resp.trials_size() << " trials\n";
    } else {
      // json: one object (a line of its own, so that --watch's lines follow it).
      sic::Table table({"sweep", "trials"});
      table.Add({std::to_string(resp.sweep_id()), std::to_string(resp.trials_size())});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return watch ? Watch(*stub, g, resp.sweep_id()) : 0;
  }
  if (list_cmd->parsed()) {
    sic::v1::ListSweepsRequest req;
    req.set_limit(1000);
    req.set_owner(owner);
    sic::v1::ListSweepsResponse resp;
    if (auto st = stub->ListSweeps(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    sic::Table table({"sweep", "name", "owner", "priority", "created", "trials", "succeeded", "failed", "stopped",
                      "canceled", "running", "paused", "waiting", "done"});
    for (const auto& s : resp.sweeps()) {
      table.Add({std::to_string(s.id()), s.name(), s.owner(), std::to_string(s.priority()), Time(s.created_at()),
                 std::to_string(s.total()),
                 std::to_string(Count(s, "succeeded")), std::to_string(Count(s, "failed")),
                 std::to_string(Count(s, "stopped")), std::to_string(Count(s, "canceled")),
                 std::to_string(Count(s, "running")), std::to_string(Count(s, "paused")),
                 std::to_string(Count(s, "queued") + Count(s, "pending") + Count(s, "waiting")), s.done() ? "yes" : "no"});
    }
    table.Print(std::cout, g.format);
    return 0;
  }
  if (show_cmd->parsed()) return Show(*stub, g, sweep_id);
  if (watch_cmd->parsed()) return Watch(*stub, g, sweep_id);
  if (cancel_cmd->parsed() || retry_cmd->parsed()) {
    sic::v1::SweepRef ref;
    ref.set_sweep_id(sweep_id);
    sic::v1::CountResponse resp;
    auto st = cancel_cmd->parsed() ? stub->Cancel(Context(g).get(), ref, &resp)
                                   : stub->RetryFailed(Context(g).get(), ref, &resp);
    if (!st.ok()) return FailRpc(st, g);
    if (g.format == "table") {
      std::cout << "sweep " << sweep_id << ": " << resp.count() << " trials "
                << (cancel_cmd->parsed() ? "canceled" : "queued again") << "\n";
    } else {
      sic::Table table({"sweep", cancel_cmd->parsed() ? "canceled" : "retried"});
      table.Add({std::to_string(sweep_id), std::to_string(resp.count())});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return 0;
  }
  if (export_cmd->parsed()) {
    sic::v1::ExportRequest req;
    req.set_sweep_id(sweep_id);
    // `sicctl --format json export S` asks for JSON as much as `export S --format json`.
    req.set_format(!export_format.empty() ? export_format : g.format == "json" ? "json" : "csv");
    // A stream of chunks: a big sweep's table passes one message's limit.
    auto ctx = Context(g, 600);
    auto reader = stub->ExportStream(ctx.get(), req);
    sic::v1::ExportChunk chunk;
    while (reader->Read(&chunk)) std::cout << chunk.content();
    if (auto st = reader->Finish(); !st.ok()) return FailRpc(st, g);
    std::cout << std::flush;
    return 0;
  }
  if (ask_cmd->parsed()) {
    sic::v1::SweepRef ref;
    ref.set_sweep_id(sweep_id);
    sic::v1::AskResponse resp;
    if (auto st = stub->Ask(Context(g).get(), ref, &resp); !st.ok()) return FailRpc(st, g);
    std::cout << "{\"trial\": " << resp.trial_id() << ", \"number\": " << resp.number()
              << ", \"params\": " << resp.params_json() << "}\n";
    return 0;
  }
  if (tell_cmd->parsed()) {
    if (!told_failed && value_opt->count() == 0) return Fail("tell: give VALUE or --failed (see sicctl tell --help)", 2);
    sic::v1::TellRequest req;
    req.set_sweep_id(sweep_id);
    req.set_trial_id(trial_id);
    req.set_value(value);
    req.set_failed(told_failed);
    sic::v1::CountResponse resp;
    if (auto st = stub->Tell(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    return 0;
  }
  if (set_priority_cmd->parsed()) {
    sic::v1::PriorityRequest req;
    req.set_sweep_id(sweep_id);
    req.set_priority(priority);
    if (preempt_flag->count() > 0) req.set_preempt(preempt);
    sic::v1::CountResponse resp;
    if (auto st = stub->SetPriority(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    const std::string preempt_word = preempt_flag->count() == 0 ? "" : preempt ? "yes" : "no";
    if (g.format == "table") {
      std::cout << "sweep " << sweep_id << ": priority " << priority
                << (preempt_word.empty() ? "" : preempt ? ", may preempt" : ", no preemption") << "\n";
    } else {
      sic::Table table({"sweep", "priority", "preempt"});
      table.Add({std::to_string(sweep_id), std::to_string(priority), preempt_word});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return 0;
  }
  if (token_create_cmd->parsed()) {
    sic::v1::CreateTokenRequest req;
    req.set_user(user);
    req.set_role(role);
    sic::v1::CreateTokenResponse resp;
    if (auto st = stub->CreateToken(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    if (g.format == "table") {
      // The token alone on stdout (for $(sicctl token create ...)); what it is on stderr.
      std::cout << resp.token() << "\n";
      std::cerr << "token " << resp.id() << " for " << user << " (" << role
                << "): shown this once; the coordinator keeps only its SHA-256\n";
    } else {
      sic::Table table({"id", "user", "role", "token"});
      table.Add({std::to_string(resp.id()), user, role, resp.token()});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return 0;
  }
  if (token_list_cmd->parsed()) {
    sic::v1::ListTokensResponse resp;
    if (auto st = stub->ListTokens(Context(g).get(), {}, &resp); !st.ok()) return FailRpc(st, g);
    sic::Table table({"id", "user", "role", "created", "created_by", "revoked"});
    for (const auto& t : resp.tokens()) {
      table.Add({std::to_string(t.id()), t.user(), t.role(), Time(t.created_at()), t.created_by(),
                 Time(t.revoked_at())});
    }
    table.Print(std::cout, g.format);
    return 0;
  }
  if (token_revoke_cmd->parsed()) {
    sic::v1::TokenRef ref;
    ref.set_id(token_id);
    sic::v1::CountResponse resp;
    if (auto st = stub->RevokeToken(Context(g).get(), ref, &resp); !st.ok()) return FailRpc(st, g);
    if (g.format == "table") {
      std::cout << "token " << token_id << ": revoked\n";
    } else {
      sic::Table table({"token", "revoked"});
      table.Add({std::to_string(token_id), "yes"});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return 0;
  }
  if (quota_set_cmd->parsed() || quota_unset_cmd->parsed()) {
    sic::v1::QuotaRequest req;
    req.set_user(user);
    if (quota_set_cmd->parsed()) req.set_max_running(quota);
    sic::v1::CountResponse resp;
    if (auto st = stub->SetQuota(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    const std::string value = quota_set_cmd->parsed() ? std::to_string(quota) : "";
    if (g.format == "table") {
      std::cout << "quota of " << user << ": "
                << (quota_unset_cmd->parsed() ? "removed (the default applies)"
                    : quota == 0               ? "no cap"
                                               : value + " trials queued or running at most")
                << "\n";
    } else {
      sic::Table table({"user", "max_running"});
      table.Add({user, value});
      table.Print(std::cout, g.format == "json" ? "jsonl" : g.format);
    }
    return 0;
  }
  if (quota_list_cmd->parsed()) {
    sic::v1::ListQuotasResponse resp;
    if (auto st = stub->ListQuotas(Context(g).get(), {}, &resp); !st.ok()) return FailRpc(st, g);
    sic::Table table({"user", "max_running", "set_by", "set_at"});
    for (const auto& q : resp.quotas()) {
      table.Add({q.user(), std::to_string(q.max_running()), q.set_by(), Time(q.set_at())});
    }
    // The default, as the row of user "*".
    table.Add({"*", std::to_string(resp.default_max_running()), "--max-running-per-user", ""});
    table.Print(std::cout, g.format);
    return 0;
  }
  if (audit_cmd->parsed()) {
    sic::v1::ListAuditRequest req;
    req.set_user(audit_user);
    req.set_limit(limit);
    req.set_offset(offset);
    sic::v1::ListAuditResponse resp;
    if (auto st = stub->ListAudit(Context(g).get(), req, &resp); !st.ok()) return FailRpc(st, g);
    sic::Table table({"id", "at", "user", "role", "action", "target", "source", "code", "detail"});
    for (const auto& a : resp.entries()) {
      table.Add({std::to_string(a.id()), Time(a.at()), a.user(), a.role(), a.action(), a.target(), a.source(), a.code(),
                 a.detail()});
    }
    table.Print(std::cout, g.format);
    return 0;
  }
  if (workers_cmd->parsed()) {
    sic::v1::ListWorkersResponse resp;
    if (auto st = stub->ListWorkers(Context(g).get(), {}, &resp); !st.ok()) return FailRpc(st, g);
    sic::Table table({"worker", "host", "pid", "classes", "gpus", "slots", "running", "last_seen", "gpu_memory_gb"});
    for (const auto& w : resp.workers()) {
      std::string running, classes, gpus;
      for (int64_t t : w.running_trials()) running += (running.empty() ? "" : " ") + std::to_string(t);
      for (const auto& c : w.classes()) classes += (classes.empty() ? "" : " ") + c;
      for (const auto& gpu : w.gpus()) {
        gpus += (gpus.empty() ? "" : " ") + std::to_string(gpu.index());
        if (gpu.memory_gb() > 0) gpus += "(" + Fixed(gpu.memory_gb()) + "GB)";
      }
      table.Add({w.name(), w.host(), std::to_string(w.pid()), classes.empty() ? "cpu" : classes, gpus,
                 std::to_string(w.concurrency()), running, Time(w.last_seen()),
                 w.gpu_memory_gb() > 0 ? Fixed(w.gpu_memory_gb()) : ""});
    }
    table.Print(std::cout, g.format);
    return 0;
  }
  return Fail("no command (see sicctl --help)", 2);
}
