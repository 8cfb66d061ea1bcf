// The feed's locks: the ingest pump asks Feed::RungOf for a pausing trial's
// rung inside its store batch, while the feed's loop may be in a pass that
// waits for that store. RungOf must answer (it took the pass's mutex, and the
// coordinator deadlocked: adaptive_e2e hung with trials paused at rung 1).
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "coordinator/feed.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

using FeedTest = StoreTest;

TEST_F(FeedTest, RungOfAnswersInsideAStoreBatchWhileAPassWaitsForTheStore) {
  const int64_t id = Submit(R"({"name": "a", "base": {"optim": {"steps": 900}},
    "grid": {"optim.lr": [0.001, 0.002, 0.003]},
    "objective": {"metric": "loss.total", "direction": "min"},
    "schedule": {"method": "asha", "min_steps": 100, "reduction_factor": 3}})");
  Feed feed(*store_, [] { return Result<int64_t>(int64_t{4}); });  // never started: passes run below
  std::thread pass;
  auto answered = std::async(std::launch::async, [&]() -> Result<std::pair<int64_t, double>> {
    Result<std::pair<int64_t, double>> rung = Status::Internal("not asked");
    (void)store_->Batch([&] {
      // A pass on another thread: it takes the feed's mutex, then waits for
      // the store, which this batch holds. Give it time to get there.
      pass = std::thread([&] { (void)feed.Pass(); });
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      rung = feed.RungOf(id, 300, {{"loss.total", 0.25}});
    });
    return rung;
  });
  if (answered.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "RungOf never answered: the feed and the ingest pump deadlock";
    std::_Exit(1);  // the two threads wait for each other forever
  }
  pass.join();
  auto rung = answered.get();
  ASSERT_TRUE(rung.ok()) << rung.status().message();
  EXPECT_EQ(rung->first, 1);  // rungs at 100, 300, 900
  EXPECT_EQ(rung->second, 0.25);
}

}  // namespace
}  // namespace sic
