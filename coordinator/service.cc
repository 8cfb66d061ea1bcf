#include "coordinator/service.h"

#include <malloc.h>

#include <chrono>
#include <limits>
#include <thread>

#include "common/export.h"
#include "common/log.h"
#include "coordinator/status_map.h"

namespace sic {
namespace {

// A refused spec larger than this is followed by malloc_trim(0).
constexpr size_t kTrimAfterBytes = 64 << 10;

// A sweep row of ResultsReader (its JSON shape) as the API's message.
void ToProto(const nlohmann::json& row, v1::Sweep* out) {
  out->set_id(row["id"].get<int64_t>());
  out->set_name(row["name"].get<std::string>());
  out->set_description(row["description"].get<std::string>());
  out->set_created_at(row["created_at"].get<double>());
  out->set_canceled(row["canceled"].get<bool>());
  out->set_total(row["total"].get<int64_t>());
  for (auto it = row["counts"].begin(); it != row["counts"].end(); ++it) {
    if (it.value().get<int64_t>() > 0) (*out->mutable_counts())[it.key()] = it.value().get<int64_t>();
  }
  out->set_done(row["done"].get<bool>());
  out->set_owner(row["owner"].get<std::string>());
  out->set_priority(row["priority"].get<int64_t>());
  out->set_preempt(row.value("preempt", false));
  out->set_max_running(row["max_running"].get<int64_t>());
}

// One export message stays well under gRPC's default 4 MB receive limit.
constexpr size_t kMaxExportMessage = 3u << 20;
constexpr size_t kExportChunk = 1u << 20;

}  // namespace

SweepServiceImpl::SweepServiceImpl(Store& store, Pumps& pumps, Feed& feed, ReaderPool& readers,
                                   ServiceOptions options)
    : store_(store), pumps_(pumps), feed_(feed), readers_(readers), options_(std::move(options)),
      auth_(store, options_.token) {}

grpc::Status SweepServiceImpl::ReadSweep(int64_t sweep_id, v1::Sweep* out) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return ToGrpc(reader.status());
  auto row = reader.value()->SweepRow(sweep_id);
  if (!row.ok()) return ToGrpc(row.status());
  ToProto(row.value(), out);
  auto dead = reader.value()->DeadLetters(sweep_id, 3);
  if (!dead.ok()) return ToGrpc(dead.status());
  out->set_dead_letters(dead->first);
  for (const DeadLetter& d : dead->second) {
    out->add_dead_letter_errors("entry " + d.entry_id + (d.trial_id ? " of trial " + std::to_string(d.trial_id) : "") +
                                ": " + d.error);
  }
  return grpc::Status::OK;
}

namespace {

// The "authorization" metadata of a call ("" when absent).
std::string AuthorizationOf(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

// An Unauthenticated answer also says how to send a token.
Status HowToSend(const Status& s) {
  if (s.code() != Status::Code::kUnauthenticated) return s;
  return Status::Unauthenticated(s.message() + " (set SIC_TOKEN or --token)");
}

std::string SweepTarget(int64_t sweep_id) { return "sweep " + std::to_string(sweep_id); }

}  // namespace

Status SweepServiceImpl::Admit(const std::string& authorization, Access access, const std::string& action,
                               int64_t sweep_id, Principal* who) {
  *who = Principal{"", Role::kViewer};
  if (access == Access::kOpen || (access == Access::kRead && !options_.auth_reads)) return Status::OK();
  auto resolved = auth_.Resolve(authorization);
  if (!resolved.ok()) return resolved.status();
  *who = resolved.value();
  return Allow(*who, access, action, sweep_id);
}

Status SweepServiceImpl::Allow(const Principal& who, Access access, const std::string& action, int64_t sweep_id) {
  std::string owner;
  if (access == Access::kOwnSweep && who.role != Role::kAdmin) {
    auto reader = readers_.Acquire();
    if (!reader.ok()) return reader.status();
    auto found = reader.value()->SweepOwner(sweep_id);
    if (!found.ok()) return found.status();
    owner = found.value();
  }
  return Authorize(who, access, action, owner, sweep_id);
}

grpc::Status SweepServiceImpl::CheckRead(const grpc::ServerContext* ctx) {
  if (!options_.auth_reads) return grpc::Status::OK;  // open reads need no caller at all
  Principal who;
  return ToGrpc(HowToSend(Admit(AuthorizationOf(ctx), Access::kRead, "read", 0, &who)));
}

grpc::Status SweepServiceImpl::Audited(grpc::ServerContext* ctx, Access access, const std::string& action,
                                       int64_t sweep_id, std::string target,
                                       const std::function<Status(const Principal&, std::string*)>& work) {
  Principal who;
  Status s = Admit(AuthorizationOf(ctx), access, action, sweep_id, &who);
  if (s.ok()) s = work(who, &target);
  // A caller that could not be identified is recorded as "?".
  Audit(store_, who.user.empty() ? nullptr : &who, action, target, ctx->peer(), s);
  return ToGrpc(HowToSend(s));
}

grpc::Status SweepServiceImpl::Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                                      v1::SubmitResponse* resp) {
  // A dry run too: it expands the spec, which costs CPU.
  return Audited(ctx, Access::kSubmit, "Submit", 0, req->dry_run() ? "dry run" : "new sweep",
                 [&](const Principal& who, std::string* target) {
                   std::optional<int64_t> priority;
                   if (req->has_priority()) priority = req->priority();
                   Status s = SubmitSpec(req->spec_json(), req->dry_run(), resp, who, priority, req->preempt());
                   if (s.ok() && !req->dry_run()) *target = SweepTarget(resp->sweep_id());
                   return s;
                 });
}

Status SweepServiceImpl::SubmitSpec(const std::string& spec_json, bool dry_run, v1::SubmitResponse* resp,
                                    const Principal& who, std::optional<int64_t> priority, bool preempt) {
  const std::string& owner = who.user;
  if (priority && (*priority < -kMaxPriority || *priority > kMaxPriority)) {
    return Status::InvalidArgument("priority: " + std::to_string(*priority) + " must be an integer in [-" +
                                   std::to_string(kMaxPriority) + ", " + std::to_string(kMaxPriority) +
                                   "] (higher is fed first)");
  }
  auto sweep = ParseSweepSpec(spec_json, options_.limits);
  // A refused large spec was parsed and freed: give the heap back, so that refusals cannot ratchet RSS up.
  if (!sweep.ok() && spec_json.size() > kTrimAfterBytes) malloc_trim(0);
  if (!sweep.ok()) {
    // A spec error the parser did not classify is still the caller's input.
    const Status& s = sweep.status();
    return s.code() == Status::Code::kUnknown ? Status::InvalidArgument(s.message()) : s;
  }
  for (const auto& t : sweep->trials) resp->add_trials(t.name);
  if (priority) sweep->priority = *priority;
  if (preempt) sweep->preempt = true;
  // Preemption stops other users' running trials: an admin's decision.
  if (sweep->preempt) {
    if (Status s = Authorize(who, Access::kAdmin, "a sweep with preempt"); !s.ok()) return s;
  }
  if (dry_run) return Status::OK();
  // Stamped under the store's lock, so that created_at orders with the pumps'
  // picks: stamped before it, a submit that waited behind the ingest and
  // enqueue rounds (which take the lock every few ms) was dated before trials
  // fed while it waited (fairness_test, once in CI: 5 claims of ann's, ~20 ms).
  Result<int64_t> id = Status::Internal("the sweep was not stored");
  if (Status s = store_.Batch([&] { id = store_.CreateSweep(sweep.value(), NowSeconds(), owner); }); !s.ok()) {
    return s;
  }
  if (!id.ok()) return id.status();
  resp->set_sweep_id(id.value());
  Log("sweep " + std::to_string(id.value()) + " \"" + sweep->name + "\": " +
      std::to_string(sweep->trials.size()) + " trials" + (owner.empty() ? "" : ", by " + owner));
  pumps_.Wake();
  feed_.Wake();
  return Status::OK();
}

grpc::Status SweepServiceImpl::Ask(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::AskResponse* resp) {
  return Audited(ctx, Access::kOwnSweep, "Ask", req->sweep_id(), SweepTarget(req->sweep_id()),
                 [&](const Principal&, std::string*) { return AskSweep(req->sweep_id(), resp); });
}

Status SweepServiceImpl::AskSweep(int64_t sweep_id, v1::AskResponse* resp) {
  auto suggestion = feed_.Ask(sweep_id);
  if (!suggestion.ok()) return suggestion.status();
  resp->set_trial_id(suggestion->trial_id);
  resp->set_number(suggestion->number);
  resp->set_params_json(suggestion->params.dump());
  return Status::OK();
}

grpc::Status SweepServiceImpl::Tell(grpc::ServerContext* ctx, const v1::TellRequest* req, v1::CountResponse* resp) {
  return Audited(ctx, Access::kOwnSweep, "Tell", req->sweep_id(),
                 "trial " + std::to_string(req->trial_id()) + " of " + SweepTarget(req->sweep_id()),
                 [&](const Principal&, std::string*) {
                   Status s = TellTrial(*req);
                   if (s.ok()) resp->set_count(1);
                   return s;
                 });
}

Status SweepServiceImpl::TellTrial(const v1::TellRequest& req) {
  auto sweep = store_.GetSweep(req.sweep_id());
  if (!sweep.ok()) return sweep.status();
  const nlohmann::json& objective = sweep->spec.contains("objective") ? sweep->spec["objective"] : nlohmann::json();
  if (!objective.is_object() || !objective.contains("metric") || !objective["metric"].is_string()) {
    return Status::FailedPrecondition("sweep " + std::to_string(req.sweep_id()) + " has no objective to tell");
  }
  return store_.Tell(req.sweep_id(), req.trial_id(), objective["metric"].get<std::string>(), req.value(),
                     req.failed(), NowSeconds());
}

grpc::Status SweepServiceImpl::GetSweep(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::Sweep* resp) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  return ReadSweep(req->sweep_id(), resp);
}

grpc::Status SweepServiceImpl::ListSweeps(grpc::ServerContext* ctx, const v1::ListSweepsRequest* req,
                                          v1::ListSweepsResponse* resp) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  const int64_t limit = req->limit() > 0 ? std::min<int64_t>(req->limit(), 1000) : 100;
  auto reader = readers_.Acquire();
  if (!reader.ok()) return ToGrpc(reader.status());
  auto ids = reader.value()->SweepIds(std::max<int64_t>(0, req->offset()), limit, req->owner());
  if (!ids.ok()) return ToGrpc(ids.status());
  for (int64_t id : ids->second) {
    auto row = reader.value()->SweepRow(id);
    if (!row.ok()) return ToGrpc(row.status());
    ToProto(row.value(), resp->add_sweeps());
  }
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::FillTrials(int64_t sweep_id, int64_t offset, int64_t limit, bool running_only,
                                          v1::ListTrialsResponse* resp) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return ToGrpc(reader.status());
  auto rows = reader.value()->TrialPage(sweep_id, offset, limit, running_only);
  if (!rows.ok()) return ToGrpc(rows.status());
  const auto progress = pumps_.Progress();
  for (const ExportRow& row : rows.value()) {
    const TrialRow& t = row.trial;
    v1::Trial* out = resp->add_trials();
    out->set_id(t.id);
    out->set_sweep_id(t.sweep_id);
    out->set_index(t.index);
    out->set_name(t.name);
    out->set_variant(t.variant);
    out->set_status(t.status);
    out->set_worker(t.worker);
    out->set_error(t.error);
    out->set_round(t.round);
    out->set_attempts(t.attempts);
    out->set_overrides_json(t.overrides.dump());
    out->set_started_at(t.started_at);
    out->set_finished_at(t.finished_at);
    // An external search's trial has no config (nothing trains here).
    const nlohmann::json* steps = t.config.contains("optim") ? &t.config["optim"]["steps"] : nullptr;
    const int64_t total_steps = steps && steps->is_number_integer() ? steps->get<int64_t>() : 0;
    out->set_total_steps(total_steps);
    out->set_rung(t.rung);
    out->set_steps_done(t.steps_done);
    out->set_target_steps(t.target_steps);
    out->set_device_class(t.device_class);
    out->set_needs_json(t.needs.dump());
    // How far it has trained: all the way, to its latest pause, or live.
    out->set_step(t.status == "succeeded" ? std::max(total_steps, t.steps_done) : t.steps_done);
    if (auto it = progress.find(t.id); it != progress.end() && t.status == "running") {
      out->set_step(it->second.step);
    }
    for (const auto& [k, v] : row.metrics) (*out->mutable_metrics())[k] = v;
    if (t.status == "running") {
      auto latest = reader.value()->Latest(t.id);
      if (!latest.ok()) return ToGrpc(latest.status());
      for (const auto& [k, v] : latest.value()) (*out->mutable_latest())[k] = v;
    }
  }
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::ListTrials(grpc::ServerContext* ctx, const v1::ListTrialsRequest* req,
                                          v1::ListTrialsResponse* resp) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  const int64_t limit = req->limit() > 0 ? std::min<int64_t>(req->limit(), 10000) : 1000;
  return FillTrials(req->sweep_id(), std::max<int64_t>(0, req->offset()), limit, req->running(), resp);
}

grpc::Status SweepServiceImpl::Cancel(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::CountResponse* resp) {
  return Audited(ctx, Access::kOwnSweep, "Cancel", req->sweep_id(), SweepTarget(req->sweep_id()),
                 [&](const Principal&, std::string*) { return CancelSweep(req->sweep_id(), resp); });
}

Status SweepServiceImpl::CancelSweep(int64_t sweep_id, v1::CountResponse* resp) {
  auto n = store_.CancelSweep(sweep_id, NowSeconds());
  if (!n.ok()) return n.status();
  resp->set_count(n.value());
  // Workers learn it from Redis; the store already holds the final word.
  Queue queue(options_.redis, options_.prefix);
  if (Status s = queue.MarkCanceled(sweep_id); !s.ok()) {
    return Status::Unavailable("sweep canceled, but running trials go on: " + s.message());
  }
  Log("sweep " + std::to_string(sweep_id) + ": canceled " + std::to_string(n.value()) + " trials");
  return Status::OK();
}

grpc::Status SweepServiceImpl::RetryFailed(grpc::ServerContext* ctx, const v1::SweepRef* req,
                                           v1::CountResponse* resp) {
  return Audited(ctx, Access::kOwnSweep, "RetryFailed", req->sweep_id(), SweepTarget(req->sweep_id()),
                 [&](const Principal&, std::string*) { return RetrySweep(req->sweep_id(), resp); });
}

Status SweepServiceImpl::RetrySweep(int64_t sweep_id, v1::CountResponse* resp) {
  auto n = store_.RetryFailed(sweep_id);
  if (!n.ok()) return n.status();
  resp->set_count(n.value());
  pumps_.Wake();
  feed_.Wake();
  return Status::OK();
}

grpc::Status SweepServiceImpl::SetPriority(grpc::ServerContext* ctx, const v1::PriorityRequest* req,
                                           v1::CountResponse* resp) {
  return Audited(ctx, Access::kOwnSweep, "SetPriority", req->sweep_id(), SweepTarget(req->sweep_id()),
                 [&](const Principal& who, std::string*) {
                   std::optional<bool> preempt;
                   if (req->has_preempt()) preempt = req->preempt();
                   Status s = SetSweepPriority(req->sweep_id(), req->priority(), preempt, who);
                   if (s.ok()) resp->set_count(1);
                   return s;
                 });
}

Status SweepServiceImpl::SetSweepPriority(int64_t sweep_id, int64_t priority, std::optional<bool> preempt,
                                          const Principal& who) {
  if (preempt && *preempt) {
    if (Status s = Authorize(who, Access::kAdmin, "preempt for sweep " + std::to_string(sweep_id)); !s.ok()) return s;
  }
  if (Status s = store_.SetPriority(sweep_id, priority, preempt); !s.ok()) return s;
  Log("sweep " + std::to_string(sweep_id) + ": priority " + std::to_string(priority) +
      (preempt ? (*preempt ? ", may preempt" : ", no preemption") : ""));
  // The feed orders what it feeds next by priority: let it look again.
  pumps_.Wake();
  feed_.Wake();
  return Status::OK();
}

grpc::Status SweepServiceImpl::CreateToken(grpc::ServerContext* ctx, const v1::CreateTokenRequest* req,
                                           v1::CreateTokenResponse* resp) {
  return Audited(ctx, Access::kAdmin, "CreateToken", 0, "new token", [&](const Principal& who, std::string* target) {
    Status s = NewUserToken(req->user(), req->role(), who.user, resp);
    if (s.ok()) *target = "token " + std::to_string(resp->id());
    return s;
  });
}

Status SweepServiceImpl::NewUserToken(const std::string& user, const std::string& role, const std::string& created_by,
                                      v1::CreateTokenResponse* resp) {
  if (Status s = CheckUserName(user); !s.ok()) return s;
  Role parsed;
  if (!ParseRole(role, &parsed)) {
    return Status::InvalidArgument("role: \"" + role.substr(0, 64) + "\" is not viewer, member or admin");
  }
  auto token = NewToken();
  if (!token.ok()) return token.status();
  auto id = store_.CreateToken(user, RoleName(parsed), TokenDigest(token.value()), created_by, NowSeconds());
  if (!id.ok()) return id.status();
  resp->set_id(id.value());
  resp->set_token(token.value());
  Log("token " + std::to_string(id.value()) + " for " + user + " (" + RoleName(parsed) + ") created by " + created_by);
  return Status::OK();
}

grpc::Status SweepServiceImpl::RevokeToken(grpc::ServerContext* ctx, const v1::TokenRef* req, v1::CountResponse* resp) {
  return Audited(ctx, Access::kAdmin, "RevokeToken", 0, "token " + std::to_string(req->id()),
                 [&](const Principal&, std::string*) {
                   Status s = RevokeUserToken(req->id());
                   if (s.ok()) resp->set_count(1);
                   return s;
                 });
}

Status SweepServiceImpl::RevokeUserToken(int64_t token_id) {
  Status s = store_.RevokeToken(token_id, NowSeconds());
  // Refused from the next call on, whatever was remembered.
  auth_.Forget();
  if (s.ok()) Log("token " + std::to_string(token_id) + " revoked");
  return s;
}

grpc::Status SweepServiceImpl::SetQuota(grpc::ServerContext* ctx, const v1::QuotaRequest* req, v1::CountResponse* resp) {
  return Audited(ctx, Access::kAdmin, "SetQuota", 0, "quota of " + req->user().substr(0, 64),
                 [&](const Principal& who, std::string*) {
                   std::optional<int64_t> max_running;
                   if (req->has_max_running()) max_running = req->max_running();
                   Status s = SetUserQuota(req->user(), max_running, who.user);
                   if (s.ok()) resp->set_count(1);
                   return s;
                 });
}

Status SweepServiceImpl::SetUserQuota(const std::string& user, std::optional<int64_t> max_running,
                                      const std::string& set_by) {
  if (Status s = CheckUserName(user); !s.ok()) return s;
  if (Status s = store_.SetQuota(user, max_running, set_by, NowSeconds()); !s.ok()) return s;
  Log("quota of " + user + (max_running ? ": " + std::to_string(*max_running) + " trials in flight" : " removed") +
      " by " + set_by);
  pumps_.Wake();  // a raised cap frees what waits for it
  return Status::OK();
}

grpc::Status SweepServiceImpl::ListQuotas(grpc::ServerContext* ctx, const v1::ListQuotasRequest*,
                                          v1::ListQuotasResponse* resp) {
  if (grpc::Status s = CheckRead(ctx); !s.ok()) return s;
  return ToGrpc(FillQuotas(resp));
}

Status SweepServiceImpl::FillQuotas(v1::ListQuotasResponse* resp) {
  auto quotas = store_.Quotas();
  if (!quotas.ok()) return quotas.status();
  for (const QuotaRow& q : quotas.value()) {
    v1::QuotaInfo* out = resp->add_quotas();
    out->set_user(q.user);
    out->set_max_running(q.max_running);
    out->set_set_by(q.set_by);
    out->set_set_at(q.set_at);
  }
  resp->set_default_max_running(options_.max_running_per_user);
  return Status::OK();
}

grpc::Status SweepServiceImpl::ListTokens(grpc::ServerContext* ctx, const v1::ListTokensRequest*,
                                          v1::ListTokensResponse* resp) {
  Principal who;
  if (Status s = Admit(AuthorizationOf(ctx), Access::kAdmin, "ListTokens", 0, &who); !s.ok()) {
    return ToGrpc(HowToSend(s));
  }
  return ToGrpc(FillTokens(resp));
}

Status SweepServiceImpl::FillTokens(v1::ListTokensResponse* resp) {
  auto tokens = store_.ListTokens();
  if (!tokens.ok()) return tokens.status();
  for (const TokenRow& t : tokens.value()) {
    v1::TokenInfo* out = resp->add_tokens();
    out->set_id(t.id);
    out->set_user(t.user);
    out->set_role(t.role);
    out->set_created_at(t.created_at);
    out->set_created_by(t.created_by);
    out->set_revoked_at(t.revoked_at);
  }
  return Status::OK();
}

grpc::Status SweepServiceImpl::ListAudit(grpc::ServerContext* ctx, const v1::ListAuditRequest* req,
                                         v1::ListAuditResponse* resp) {
  Principal who;
  if (Status s = Admit(AuthorizationOf(ctx), Access::kAdmin, "ListAudit", 0, &who); !s.ok()) {
    return ToGrpc(HowToSend(s));
  }
  const int64_t limit = req->limit() > 0 ? std::min<int64_t>(req->limit(), 1000) : 100;
  return ToGrpc(FillAudit(std::max<int64_t>(0, req->offset()), limit, req->user(), resp));
}

Status SweepServiceImpl::FillAudit(int64_t offset, int64_t limit, const std::string& user,
                                   v1::ListAuditResponse* resp) {
  auto rows = store_.ListAudit(offset, limit, user);
  if (!rows.ok()) return rows.status();
  for (const AuditRow& a : rows.value()) {
    v1::AuditEntry* out = resp->add_entries();
    out->set_id(a.id);
    out->set_at(a.at);
    out->set_user(a.user);
    out->set_role(a.role);
    out->set_action(a.action);
    out->set_target(a.target);
    out->set_source(a.source);
    out->set_code(a.code);
    out->set_detail(a.detail);
  }
  return Status::OK();
}

grpc::Status SweepServiceImpl::Watch(grpc::ServerContext* ctx, const v1::SweepRef* req,
                                     grpc::ServerWriter<v1::Sweep>* writer) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  std::string last;
  auto last_sent = std::chrono::steady_clock::now();
  while (!ctx->IsCancelled()) {
    v1::Sweep sweep;
    if (grpc::Status s = ReadSweep(req->sweep_id(), &sweep); !s.ok()) return s;
    const std::string bytes = sweep.SerializeAsString();
    const auto now = std::chrono::steady_clock::now();
    // Send changes, and a keep-alive now and then.
    if (bytes != last || now - last_sent > std::chrono::seconds(5)) {
      if (!writer->Write(sweep)) return grpc::Status::OK;  // the client left
      last = bytes;
      last_sent = now;
    }
    if (sweep.done()) return grpc::Status::OK;
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.watch_interval_ms));
  }
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::ListWorkers(grpc::ServerContext* ctx, const v1::ListWorkersRequest*,
                                           v1::ListWorkersResponse* resp) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  Queue queue(options_.redis, options_.prefix);
  return ToGrpc(AliveWorkers(queue, resp));
}

Status SweepServiceImpl::AliveWorkers(Queue& queue, v1::ListWorkersResponse* resp) {
  auto workers = queue.Workers();
  if (!workers.ok()) return Status::Unavailable(workers.status().message());
  const double now = NowSeconds();
  for (const std::string& bytes : workers.value()) {
    v1::Worker w;
    if (!w.ParseFromString(bytes)) continue;
    if (now - w.last_seen() > options_.worker_timeout_s) {
      // Killed without a goodbye (kill -9, a lost node): forget it.
      (void)queue.RemoveWorker(w.name());
      continue;
    }
    *resp->add_workers() = w;
  }
  return Status::OK();
}

Result<std::vector<WorkerSlots>> SweepServiceImpl::AliveWorkerSlots(Queue& queue) {
  v1::ListWorkersResponse live;
  if (Status s = AliveWorkers(queue, &live); !s.ok()) return s;
  std::vector<WorkerSlots> out;
  for (const auto& w : live.workers()) {
    out.push_back({{w.classes().begin(), w.classes().end()}, w.concurrency(),
                   static_cast<int64_t>(w.running_trials_size()), w.gpu_memory_gb()});
  }
  return out;
}

Result<std::string> SweepServiceImpl::ExportText(const v1::ExportRequest& req) {
  const std::string format = req.format().empty() ? "csv" : req.format();
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto rows = reader.value()->ExportRows(req.sweep_id());
  if (!rows.ok()) return rows.status();
  auto text = FormatExport(rows.value(), format);
  if (!text.ok()) return Status::InvalidArgument(text.status().message());
  return text;
}

grpc::Status SweepServiceImpl::Export(grpc::ServerContext* ctx, const v1::ExportRequest* req, v1::ExportResponse* resp) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  auto text = ExportText(*req);
  if (!text.ok()) return ToGrpc(text.status());
  if (text->size() > kMaxExportMessage) {
    return ToGrpc(Status::ResourceExhausted("the export of sweep " + std::to_string(req->sweep_id()) + " is " +
                                               std::to_string(text->size()) +
                                               " bytes, too big for one message; use ExportStream (sicctl export does)"));
  }
  resp->set_content(std::move(text.value()));
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::ExportStream(grpc::ServerContext* ctx, const v1::ExportRequest* req,
                                            grpc::ServerWriter<v1::ExportChunk>* writer) {
  if (auto s = CheckRead(ctx); !s.ok()) return s;
  auto text = ExportText(*req);
  if (!text.ok()) return ToGrpc(text.status());
  for (size_t at = 0; at < text->size(); at += kExportChunk) {
    v1::ExportChunk chunk;
    chunk.set_content(text->substr(at, kExportChunk));
    if (!writer->Write(chunk)) return grpc::Status::OK;  // the client left
  }
  return grpc::Status::OK;
}

}  // namespace sic
