#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

// A deadlock would otherwise hang ctest with no message: run `fn` on its own
// thread and abort the whole binary, naming the test, if it has not finished in
// time (a blocked thread cannot be cancelled, so failing softly is not possible).
void finishes_within(std::chrono::seconds limit, const char* what, const std::function<void()>& fn) {
  std::packaged_task<void()> task(fn);
  std::future<void> done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "%s did not finish within %lld s: deadlock?\n", what,
                 static_cast<long long>(limit.count()));
    std::abort();
  }
  runner.join();
  done.get();  // rethrows a failure of fn
}

// Every index is visited by exactly one chunk, chunks stay inside [0, count),
// and counts smaller than the thread count (7 items, 8 threads) still work.
TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  for (std::int64_t count : {0, 1, 7, 1000}) {
    for (int threads : {1, 2, 8, 0}) {
      std::vector<std::atomic<int>> hits(count);
      std::atomic<int> bad_chunks{0};
      parallel_for(count, threads, [&](std::int64_t begin, std::int64_t end) {
        if (begin < 0 || begin > end || end > count) {
          ++bad_chunks;
          return;
        }
        for (std::int64_t i = begin; i < end; ++i) hits[i]++;
      });
      EXPECT_EQ(bad_chunks, 0) << "count " << count << " threads " << threads;
      for (std::int64_t i = 0; i < count; ++i) {
        ASSERT_EQ(hits[i], 1) << "index " << i << " count " << count << " threads " << threads;
      }
    }
  }
}

TEST(ParallelFor, NonPositiveCountNeverCallsTheBody) {
  std::atomic<int> calls{0};
  for (std::int64_t count : {0, -1, -100}) {
    parallel_for(count, 2, [&](std::int64_t, std::int64_t) { ++calls; });
  }
  EXPECT_EQ(calls, 0);
}

// The exception thrown in a chunk reaches the caller unchanged (type and message),
// on the serial path and on the pooled one, and the pool keeps working.
TEST(ParallelFor, RethrowsTheChunksErrorAndStaysUsable) {
  for (int threads : {1, 2, 8, 0}) {
    try {
      parallel_for(100, threads, [](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          if (i == 42) throw std::out_of_range("chunk with 42 failed");
        }
      });
      ADD_FAILURE() << "no exception, threads " << threads;
    } catch (const std::out_of_range& error) {
      EXPECT_STREQ(error.what(), "chunk with 42 failed");
    }
    std::atomic<std::int64_t> sum{0};
    parallel_for(100, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) sum += i;
    });
    EXPECT_EQ(sum, 4950) << "threads " << threads;
  }
}

// When the error reaches the caller, no chunk may still be running: bodies
// capture the caller's stack by reference, so a late chunk would write into a
// dead frame. To make the race certain, the failing chunk throws only once
// another chunk is inside the body (or after 100 ms if no pool thread came).
TEST(ParallelFor, NoChunkRunsAfterTheErrorIsRethrown) {
  for (int repeat = 0; repeat < 10; ++repeat) {
    std::atomic<int> running{0};
    EXPECT_THROW(parallel_for(64, 0,
                              [&](std::int64_t begin, std::int64_t) {
                                ++running;
                                if (begin == 0) {
                                  const auto give_up = std::chrono::steady_clock::now() +
                                                       std::chrono::milliseconds(100);
                                  while (running < 2 && std::chrono::steady_clock::now() < give_up) {
                                    std::this_thread::yield();
                                  }
                                  --running;
                                  throw std::runtime_error("first chunk");
                                }
                                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                                --running;
                              }),
                 std::runtime_error);
    ASSERT_EQ(running, 0) << "a chunk outlived parallel_for, repeat " << repeat;
  }
}

// A body that itself calls parallel_for (e.g. a batched feature calling a
// threaded kernel) must complete even when every pool thread is inside an
// outer chunk: the caller of each call works on its own job.
TEST(ParallelFor, NestedCallsComplete) {
  std::atomic<std::int64_t> total{0};
  finishes_within(std::chrono::seconds(60), "nested parallel_for", [&] {
    parallel_for(16, 0, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        parallel_for(50, 0, [&](std::int64_t b, std::int64_t e) {
          parallel_for(e - b, 2, [&](std::int64_t bb, std::int64_t ee) { total += ee - bb; });
        });
      }
    });
  });
  EXPECT_EQ(total, 16 * 50);
}

// Several user threads (e.g. a DataLoader's workers) share the one pool; each
// call must finish and see only its own indices.
TEST(ParallelFor, ConcurrentCallsFromManyThreadsComplete) {
  constexpr int kCallers = 6;
  constexpr std::int64_t kCount = 5000;
  std::vector<std::int64_t> sums(kCallers, 0);
  finishes_within(std::chrono::seconds(60), "concurrent parallel_for", [&] {
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&sums, c] {
        for (int repeat = 0; repeat < 20; ++repeat) {
          std::atomic<std::int64_t> sum{0};
          parallel_for(kCount, 0, [&](std::int64_t begin, std::int64_t end) {
            std::int64_t local = 0;
            for (std::int64_t i = begin; i < end; ++i) local += i * (c + 1);
            sum += local;
          });
          sums[c] = sum;
        }
      });
    }
    for (auto& caller : callers) caller.join();
  });
  for (int c = 0; c < kCallers; ++c) EXPECT_EQ(sums[c], (c + 1) * kCount * (kCount - 1) / 2);
}

// A custom backend receives the call's arguments unchanged; nullptr restores
// the pool. The guard restores the pool even if an assertion fails, so later
// tests never run on the test backend.
struct BackendCall {
  std::int64_t count;
  int num_threads;
};
std::vector<BackendCall> backend_calls;  // only touched from the test thread

void serial_backend(std::int64_t count, int num_threads,
                    const std::function<void(std::int64_t, std::int64_t)>& body) {
  backend_calls.push_back({count, num_threads});
  body(0, count);
}

struct BackendGuard {
  explicit BackendGuard(ParallelForBackend backend) { set_parallel_for_backend(backend); }
  ~BackendGuard() { set_parallel_for_backend(nullptr); }
};

TEST(ParallelFor, BackendCanBeReplacedAndRestored) {
  backend_calls.clear();
  const auto caller = std::this_thread::get_id();
  {
    BackendGuard guard(&serial_backend);
    std::int64_t covered = 0;
    bool on_caller_thread = true;
    parallel_for(10, 3, [&](std::int64_t begin, std::int64_t end) {
      covered += end - begin;
      on_caller_thread = on_caller_thread && std::this_thread::get_id() == caller;
    });
    parallel_for(5, 0, [&](std::int64_t begin, std::int64_t end) { covered += end - begin; });
    EXPECT_EQ(covered, 15);
    EXPECT_TRUE(on_caller_thread);  // the serial backend really ran the body
    ASSERT_EQ(backend_calls.size(), 2u);
    EXPECT_EQ(backend_calls[0].count, 10);
    EXPECT_EQ(backend_calls[0].num_threads, 3);
    EXPECT_EQ(backend_calls[1].count, 5);
    EXPECT_EQ(backend_calls[1].num_threads, 0);  // "all threads" is the backend's to interpret
  }
  // Restored: the pool runs the call, the test backend sees nothing more.
  std::atomic<std::int64_t> covered{0};
  parallel_for(1000, 2, [&](std::int64_t begin, std::int64_t end) { covered += end - begin; });
  EXPECT_EQ(covered, 1000);
  EXPECT_EQ(backend_calls.size(), 2u);
}

TEST(ParallelFor, HardwareThreadsIsPositive) { EXPECT_GE(hardware_threads(), 1); }

}  // namespace
}  // namespace affectkit
