// SweepService: the coordinator's gRPC API (proto/sweep.proto) over the store.
// Submit validates and expands the spec (nothing is stored when it is bad),
// commits the sweep with its trials pending (waiting, for the feed, when the
// sweep is adaptive) and wakes the pumps; it does not need Redis to be up.
// Ask and Tell drive an external search (coordinator/feed.h).
//
// Who may call what (coordinator/auth.h; the caller comes from the
// "authorization" metadata):
//   reads (GetSweep, ListSweeps, ListTrials, Watch, ListWorkers, Export,
//     ExportStream): anyone; a token (any role) only with `auth_reads`;
//   Submit (a dry run too: it costs the expansion): member or admin; the
//     sweep's owner is the caller;
//   Cancel, RetryFailed, SetPriority, Ask, Tell: the sweep's owner (a member)
//     or an admin;
//   CreateToken, ListTokens, RevokeToken, ListAudit, SetQuota: admin.
// A wrong role is PERMISSION_DENIED, naming the role needed; an unknown or
// revoked token UNAUTHENTICATED. Every state-changing call (Submit, dry runs
// included, Cancel, RetryFailed, SetPriority, Ask, Tell, CreateToken,
// RevokeToken) appends one audit row with its answer, refusals included.
//
// Reads (GetSweep, ListSweeps, ListTrials, Watch, Export, ExportStream) go
// through the ReaderPool's read-only connections, never the store's writer
// connection: a big export never holds up the ingest pump, nor waits for it.
//
// Thread-safety: gRPC calls handlers concurrently; the store serializes itself,
// the reader pool hands each call a connection of its own, and each call that
// talks to Redis opens its own connection.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/queue.h"
#include "common/results_reader.h"
#include "common/store.h"
#include "coordinator/auth.h"
#include "coordinator/feed.h"
#include "coordinator/pumps.h"
#include "proto/sweep.grpc.pb.h"

namespace sic {

struct ServiceOptions {
  std::string token;      // empty: no token check
  bool auth_reads = false;  // reads need the token too
  SpecLimits limits;
  RedisOptions redis;
  std::string prefix = "sic";
  int64_t watch_interval_ms = 300;
  double worker_timeout_s = 30;  // workers silent this long are dropped from the registry
  int64_t max_running_per_user = 0;  // cap on one user's queued + running trials (0: none)
};

class SweepServiceImpl final : public v1::SweepService::Service {
 public:
  SweepServiceImpl(Store& store, Pumps& pumps, Feed& feed, ReaderPool& readers, ServiceOptions options);

  grpc::Status Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req, v1::SubmitResponse* resp) override;
  grpc::Status GetSweep(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::Sweep* resp) override;
  grpc::Status ListSweeps(grpc::ServerContext* ctx, const v1::ListSweepsRequest* req,
                          v1::ListSweepsResponse* resp) override;
  grpc::Status ListTrials(grpc::ServerContext* ctx, const v1::ListTrialsRequest* req,
                          v1::ListTrialsResponse* resp) override;
  grpc::Status Cancel(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::CountResponse* resp) override;
  grpc::Status RetryFailed(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::CountResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::SweepRef* req, grpc::ServerWriter<v1::Sweep>* writer) override;
  grpc::Status ListWorkers(grpc::ServerContext* ctx, const v1::ListWorkersRequest* req,
                           v1::ListWorkersResponse* resp) override;
  grpc::Status Export(grpc::ServerContext* ctx, const v1::ExportRequest* req, v1::ExportResponse* resp) override;
  grpc::Status ExportStream(grpc::ServerContext* ctx, const v1::ExportRequest* req,
                            grpc::ServerWriter<v1::ExportChunk>* writer) override;
  grpc::Status Ask(grpc::ServerContext* ctx, const v1::SweepRef* req, v1::AskResponse* resp) override;
  grpc::Status Tell(grpc::ServerContext* ctx, const v1::TellRequest* req, v1::CountResponse* resp) override;
  grpc::Status SetPriority(grpc::ServerContext* ctx, const v1::PriorityRequest* req, v1::CountResponse* resp) override;
  grpc::Status CreateToken(grpc::ServerContext* ctx, const v1::CreateTokenRequest* req,
                           v1::CreateTokenResponse* resp) override;
  grpc::Status ListTokens(grpc::ServerContext* ctx, const v1::ListTokensRequest* req,
                          v1::ListTokensResponse* resp) override;
  grpc::Status RevokeToken(grpc::ServerContext* ctx, const v1::TokenRef* req, v1::CountResponse* resp) override;
  grpc::Status SetQuota(grpc::ServerContext* ctx, const v1::QuotaRequest* req, v1::CountResponse* resp) override;
  grpc::Status ListQuotas(grpc::ServerContext* ctx, const v1::ListQuotasRequest* req,
                          v1::ListQuotasResponse* resp) override;
  grpc::Status ListAudit(grpc::ServerContext* ctx, const v1::ListAuditRequest* req,
                         v1::ListAuditResponse* resp) override;

  // Whether the caller (from an Authorization value) may make a call of
  // class `access` named `action`; for kOwnSweep, on sweep `sweep_id`
  // (NotFound when there is none). Sets *who once the caller is identified,
  // refused or not (its user stays "" otherwise). kOpen, and kRead without
  // auth_reads, need no token. Unauthenticated errors say what is wrong, not
  // how to send a token (the transport adds that).
  Status Admit(const std::string& authorization, Access access, const std::string& action, int64_t sweep_id,
               Principal* who);
  // Admit's second half, for a caller already identified.
  Status Allow(const Principal& who, Access access, const std::string& action, int64_t sweep_id);
  Authenticator& authenticator() { return auth_; }

  // The calls' work without the checks above, shared with the REST API
  // (which admits its callers the same way). Errors carry their code
  // (status_map.h). `priority`, when set, overrides the spec's.
  // `preempt` (sicctl sweep --preempt) sets the spec's "preempt"; a sweep
  // that may preempt needs an admin (`who` is its owner).
  Status SubmitSpec(const std::string& spec_json, bool dry_run, v1::SubmitResponse* resp, const Principal& who,
                    std::optional<int64_t> priority = std::nullopt, bool preempt = false);
  Status CancelSweep(int64_t sweep_id, v1::CountResponse* resp);
  Status RetrySweep(int64_t sweep_id, v1::CountResponse* resp);
  Status AskSweep(int64_t sweep_id, v1::AskResponse* resp);
  Status TellTrial(const v1::TellRequest& req);
  // `preempt`, when given, sets whether the sweep may preempt (true needs an admin).
  Status SetSweepPriority(int64_t sweep_id, int64_t priority, std::optional<bool> preempt, const Principal& who);
  Status NewUserToken(const std::string& user, const std::string& role, const std::string& created_by,
                      v1::CreateTokenResponse* resp);
  Status RevokeUserToken(int64_t token_id);
  Status FillTokens(v1::ListTokensResponse* resp);
  Status FillAudit(int64_t offset, int64_t limit, const std::string& user, v1::ListAuditResponse* resp);
  Status SetUserQuota(const std::string& user, std::optional<int64_t> max_running, const std::string& set_by);
  Status FillQuotas(v1::ListQuotasResponse* resp);
  Feed& feed() { return feed_; }
  // The workers whose heartbeat is recent, read through `queue` (forgets the others).
  Status AliveWorkers(Queue& queue, v1::ListWorkersResponse* resp);
  // The same, as the dispatcher and the queue view count them.
  Result<std::vector<WorkerSlots>> AliveWorkerSlots(Queue& queue);
  const ServiceOptions& options() const { return options_; }

 private:
  // A read's check: the caller's token, with auth_reads only.
  grpc::Status CheckRead(const grpc::ServerContext* ctx);
  // A state-changing call: admits the caller (`access`, `action`, on
  // `sweep_id` for kOwnSweep), runs `work` with it, and audits the answer
  // with `target` (work may change it, e.g. to the new sweep).
  grpc::Status Audited(grpc::ServerContext* ctx, Access access, const std::string& action, int64_t sweep_id,
                       std::string target, const std::function<Status(const Principal&, std::string*)>& work);
  grpc::Status FillTrials(int64_t sweep_id, int64_t offset, int64_t limit, bool running_only,
                          v1::ListTrialsResponse* resp);
  // The sweep as the API sends it, read on a reader connection.
  grpc::Status ReadSweep(int64_t sweep_id, v1::Sweep* out);
  // The export table's text, read on a reader connection.
  Result<std::string> ExportText(const v1::ExportRequest& req);

  Store& store_;
  Pumps& pumps_;
  Feed& feed_;
  ReaderPool& readers_;
  ServiceOptions options_;
  Authenticator auth_;
};

}  // namespace sic
