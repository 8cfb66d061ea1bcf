// SweepService: the coordinator's gRPC API (proto/sweep.proto) over the store.
// Submit validates and expands the spec (nothing is stored when it is bad),
// commits the sweep with its trials pending (waiting, for the feed, when the
// sweep is adaptive) and wakes the pumps; it does not need Redis to be up.
// Ask and Tell drive an external search (coordinator/feed.h). State-changing calls (Submit, also a dry run,
// which costs the expansion; Cancel, RetryFailed) need the shared token when
// one is configured, and so do Ask and Tell; with `auth_reads` the read calls (GetSweep, ListSweeps,
// ListTrials, Watch, ListWorkers, Export) need it too.
//
// Reads (GetSweep, ListSweeps, ListTrials, Watch, Export, ExportStream) go
// through the ReaderPool's read-only connections, never the store's writer
// connection: a big export never holds up the ingest pump, nor waits for it.
//
// Thread-safety: gRPC calls handlers concurrently; the store serializes itself,
// the reader pool hands each call a connection of its own, and each call that
// talks to Redis opens its own connection.
#pragma once

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

  // The calls' work without the token check, shared with the REST API (which
  // checks the token its own way). Errors carry their code (status_map.h).
  Status SubmitSpec(const std::string& spec_json, bool dry_run, v1::SubmitResponse* resp);
  Status CancelSweep(int64_t sweep_id, v1::CountResponse* resp);
  Status AskSweep(int64_t sweep_id, v1::AskResponse* resp);
  Status TellTrial(const v1::TellRequest& req);
  Feed& feed() { return feed_; }
  // The workers whose heartbeat is recent, read through `queue` (forgets the others).
  Status AliveWorkers(Queue& queue, v1::ListWorkersResponse* resp);
  const ServiceOptions& options() const { return options_; }

 private:
  grpc::Status CheckToken(const grpc::ServerContext* ctx) const;
  grpc::Status CheckReadToken(const grpc::ServerContext* ctx) const;  // with auth_reads only
  grpc::Status FillTrials(int64_t sweep_id, int64_t offset, int64_t limit, v1::ListTrialsResponse* resp);
  // The sweep as the API sends it, read on a reader connection.
  grpc::Status ReadSweep(int64_t sweep_id, v1::Sweep* out);
  // The export table's text, read on a reader connection.
  Result<std::string> ExportText(const v1::ExportRequest& req);

  Store& store_;
  Pumps& pumps_;
  Feed& feed_;
  ReaderPool& readers_;
  ServiceOptions options_;
};

}  // namespace sic
