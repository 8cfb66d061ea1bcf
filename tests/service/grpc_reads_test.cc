// The gRPC service beside the store's writer lock. Reads (GetSweep,
// ListSweeps, ListTrials, Export) answer while the writer holds its
// connection in an open transaction: they read on the reader pool's
// read-only connections, never the writer's. A submit waits for the lock and
// is dated once it holds it, after every pick made while it waited.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "common/log.h"
#include "coordinator/pumps.h"
#include "coordinator/service.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

using GrpcReadsTest = StoreTest;

TEST_F(GrpcReadsTest, ReadsDoNotWaitForTheWriter) {
  const int64_t id = Submit(R"({"name": "r", "seeds": 3})");
  const int64_t trial = store_->ListTrials(id, 0, 10)->at(0).id;
  ASSERT_TRUE(store_->RecordResult(Success(trial, 1, 1, 0.5)).value());
  Pumps pumps(*store_, RedisOptions{}, "t");  // never started: no Redis needed
  Feed feed(*store_, nullptr);  // never started either
  ReaderPool readers(path_);
  SweepServiceImpl service(*store_, pumps, feed, readers, ServiceOptions{});

  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  std::thread writer([&] {
    (void)store_->Batch([&] {
      (void)store_->CancelSweep(id, 300);  // uncommitted: readers must not see it
      inside.set_value();
      released.wait();
    });
  });
  inside.get_future().wait();
  auto reads = std::async(std::launch::async, [&] {
    v1::SweepRef ref;
    ref.set_sweep_id(id);
    v1::Sweep sweep;
    EXPECT_TRUE(service.GetSweep(nullptr, &ref, &sweep).ok());
    EXPECT_EQ(sweep.total(), 3);
    EXPECT_FALSE(sweep.canceled());
    EXPECT_EQ(sweep.counts().at("succeeded"), 1);
    v1::ListSweepsRequest list;
    v1::ListSweepsResponse sweeps;
    EXPECT_TRUE(service.ListSweeps(nullptr, &list, &sweeps).ok());
    EXPECT_EQ(sweeps.sweeps_size(), 1);
    v1::ListTrialsRequest trials_req;
    trials_req.set_sweep_id(id);
    v1::ListTrialsResponse trials;
    EXPECT_TRUE(service.ListTrials(nullptr, &trials_req, &trials).ok());
    EXPECT_EQ(trials.trials_size(), 3);
    EXPECT_DOUBLE_EQ(trials.trials(0).metrics().at("loss.total"), 0.5);
    v1::ExportRequest export_req;
    export_req.set_sweep_id(id);
    export_req.set_format("json");
    v1::ExportResponse exported;
    EXPECT_TRUE(service.Export(nullptr, &export_req, &exported).ok());
    EXPECT_NE(exported.content().find("loss.total"), std::string::npos);
  });
  // A deadlock detector, not a timing assert: before, every read waited for
  // the writer's transaction, which here never ends until the reads are done.
  const bool answered = reads.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  release.set_value();
  writer.join();
  reads.wait();
  EXPECT_TRUE(answered) << "a gRPC read waited for the writer's transaction";
  v1::SweepRef missing;
  missing.set_sweep_id(42);
  v1::Sweep none;
  EXPECT_EQ(service.GetSweep(nullptr, &missing, &none).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcReadsTest, ASubmitIsDatedWhenItHoldsTheStoresLock) {
  Pumps pumps(*store_, RedisOptions{}, "t");  // never started
  Feed feed(*store_, nullptr);
  ReaderPool readers(path_);
  SweepServiceImpl service(*store_, pumps, feed, readers, ServiceOptions{});

  // The pumps' rounds hold the lock while they pick; one held here until the
  // submit has had time to date itself (before the fix it did, then waited).
  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  double released_at = 0;
  std::thread holder([&] {
    (void)store_->Batch([&] {
      inside.set_value();
      released.wait();
      released_at = NowSeconds();
    });
  });
  inside.get_future().wait();
  auto submit = std::async(std::launch::async, [&] {
    v1::SubmitResponse resp;
    Status s = service.SubmitSpec(R"({"name": "late", "seeds": 2})", /*dry_run=*/false, &resp, Principal{});
    EXPECT_TRUE(s.ok()) << s.message();
    return resp.sweep_id();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  release.set_value();
  holder.join();
  const int64_t id = submit.get();
  auto row = store_->GetSweep(id);
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_GE(row->created_at, released_at) << "the sweep is dated before the store could see it";
  EXPECT_EQ(store_->ListTrials(id, 0, 10)->size(), 2u);
}

}  // namespace
}  // namespace sic
