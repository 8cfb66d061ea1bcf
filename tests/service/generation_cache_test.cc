// GenerationCache: when a cached value is served and when it is recomputed.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "coordinator/generation_cache.h"

namespace sic {
namespace {

class GenerationCacheTest : public ::testing::Test {
 protected:
  // The value served for `g`, counting computations.
  int Get(SweepGeneration g) {
    auto v = cache_.Get("k", g, [&]() -> Result<int> { return ++computed_; });
    EXPECT_TRUE(v.ok());
    return *v.value();
  }
  GenerationCache<int> cache_{8, std::chrono::milliseconds(200)};
  std::atomic<int> computed_{0};  // the refresher thread computes too
};

TEST_F(GenerationCacheTest, SameGenerationIsServedFromMemory) {
  EXPECT_EQ(Get({1, 1}), 1);
  EXPECT_EQ(Get({1, 1}), 1);
  EXPECT_EQ(computed_, 1);
}

TEST_F(GenerationCacheTest, IngestedChangesTrailAndAreRefreshedInTheBackground) {
  EXPECT_EQ(Get({1, 1}), 1);
  EXPECT_EQ(Get({1, 2}), 1) << "within max_stale: the old value";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(Get({1, 3}), 1) << "past max_stale: still the old value, while the refresher recomputes";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Get({1, 3}) != 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Get({1, 3}), 2);
  EXPECT_EQ(computed_.load(), 2) << "one refresh, however many requests saw the old value";
}

TEST_F(GenerationCacheTest, RequestedChangesAreSeenAtOnce) {
  EXPECT_EQ(Get({1, 1}), 1);
  EXPECT_EQ(Get({2, 1}), 2);
}

TEST_F(GenerationCacheTest, ErrorsAreNotCachedAndLeastRecentlyUsedGoesFirst) {
  auto bad = cache_.Get("e", {}, []() -> Result<int> { return Status::Error("boom"); });
  EXPECT_FALSE(bad.ok());
  auto good = cache_.Get("e", {}, []() -> Result<int> { return 7; });
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good.value(), 7);
  GenerationCache<int> small(2, std::chrono::seconds(1));
  int n = 0;
  auto get = [&](const char* key) { return *small.Get(key, {}, [&]() -> Result<int> { return ++n; }).value(); };
  get("a");
  get("b");
  get("a");  // b is now the least recently used
  get("c");
  EXPECT_EQ(get("a"), 1);
  EXPECT_EQ(get("b"), 4);  // recomputed
}

}  // namespace
}  // namespace sic
