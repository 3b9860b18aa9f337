#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  for (std::int64_t count : {0, 1, 7, 1000}) {
    for (int threads : {1, 2, 8, 0}) {
      std::vector<std::atomic<int>> hits(count);
      parallel_for(count, threads, [&](std::int64_t begin, std::int64_t end) {
        ASSERT_LE(0, begin);
        ASSERT_LE(begin, end);
        ASSERT_LE(end, count);
        for (std::int64_t i = begin; i < end; ++i) hits[i]++;
      });
      for (std::int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i], 1) << "count " << count << " threads " << threads;
    }
  }
}

TEST(ParallelFor, RethrowsTheFirstErrorAndStaysUsable) {
  EXPECT_THROW(parallel_for(100, 2,
                            [](std::int64_t begin, std::int64_t end) {
                              for (std::int64_t i = begin; i < end; ++i) {
                                if (i == 42) throw std::runtime_error("chunk failed");
                              }
                            }),
               std::runtime_error);
  std::atomic<std::int64_t> sum{0};
  parallel_for(100, 2, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) sum += i;
  });
  EXPECT_EQ(sum, 4950);
}

// The caller works on its own job, so nested and concurrent calls cannot deadlock
// even when every pool thread is busy.
TEST(ParallelFor, NestedAndConcurrentCallsComplete) {
  std::atomic<std::int64_t> total{0};
  auto nested = [&] {
    parallel_for(8, 0, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        parallel_for(50, 0, [&](std::int64_t b, std::int64_t e) { total += e - b; });
      }
    });
  };
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) callers.emplace_back(nested);
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(total, 4 * 8 * 50);
}

std::atomic<int> backend_calls{0};
void serial_backend(std::int64_t count, int, const std::function<void(std::int64_t, std::int64_t)>& body) {
  ++backend_calls;
  body(0, count);
}

TEST(ParallelFor, BackendCanBeReplacedAndRestored) {
  set_parallel_for_backend(&serial_backend);
  std::int64_t covered = 0;
  parallel_for(10, 2, [&](std::int64_t begin, std::int64_t end) { covered += end - begin; });
  set_parallel_for_backend(nullptr);
  EXPECT_EQ(backend_calls, 1);
  EXPECT_EQ(covered, 10);
  parallel_for(10, 2, [](std::int64_t, std::int64_t) {});
  EXPECT_EQ(backend_calls, 1);
}

TEST(ParallelFor, HardwareThreadsIsPositive) { EXPECT_GE(hardware_threads(), 1); }

}  // namespace
}  // namespace affectkit
