#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>

#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

std::atomic<int> polls{0};
std::atomic<bool> stop_now{false};
bool poll_flag() {
  ++polls;
  return stop_now.load();
}
bool poll_throws() { throw std::runtime_error("the poll itself failed"); }

// Spins for `ms` milliseconds with interruption points in between.
void busy(int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) interruption_point();
}

TEST(Interrupt, WithoutAScopeInterruptionPointsDoNothing) {
  EXPECT_NO_THROW(busy(50));
}

TEST(Interrupt, TheOwnerPollsAboutEveryInterval) {
  polls = 0;
  stop_now = false;
  InterruptScope scope(&poll_flag);
  busy(200);
  EXPECT_GE(polls.load(), 1);
  EXPECT_LE(polls.load(), 11);  // never more often than every 20 ms: the poll takes the GIL
}

TEST(Interrupt, AStopRequestUnwindsASerialLoop) {
  stop_now = true;
  InterruptScope scope(&poll_flag);
  EXPECT_THROW(busy(10000), Interrupted);
  stop_now = false;
}

TEST(Interrupt, AStopRequestStopsEveryWorkerOfAParallelFor) {
  stop_now = false;
  std::atomic<std::int64_t> started{0};
  auto scope = std::make_unique<InterruptScope>(&poll_flag);  // one interruptible call
  std::thread stopper([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop_now = true;
  });
  const auto begin = std::chrono::steady_clock::now();
  // 64 chunks of 200 ms each: 3.2 s of work per thread if nothing stopped it.
  EXPECT_THROW(parallel_for(64, 4, [&](std::int64_t first, std::int64_t last) {
                 for (std::int64_t i = first; i < last; ++i) {
                   ++started;
                   busy(200);
                 }
               }),
               Interrupted);
  stopper.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_LT(started.load(), 64);
  EXPECT_LT(seconds, 2.0);  // a loose bound: the workers stop at their next interruption point
  scope.reset();
  stop_now = false;
  // The pool is usable afterwards, by the next call.
  InterruptScope next_call(&poll_flag);
  std::atomic<std::int64_t> sum{0};
  parallel_for(100, 4, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t i = first; i < last; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

// The race that hung CI: Ctrl-C arrives while the caller waits for a worker's last
// chunk, which has passed its last interruption point. The poll consumes the signal,
// so the call must still end with Interrupted, or the next call runs unstoppable.
TEST(Interrupt, AStopHeardWhileWaitingForTheLastChunkEndsTheCall) {
  stop_now = true;  // every poll asks to stop; the first is due 20 ms into the call
  InterruptScope scope(&poll_flag);
  const std::thread::id owner = std::this_thread::get_id();
  // No interruption points inside the chunks: the caller passes its only one before the
  // first poll is due, and polls (at ~50 ms) while waiting for the worker's chunk. (If
  // the caller takes both chunks, the poll before its second one stops the call.)
  EXPECT_THROW(parallel_for(2, 2,
                            [&](std::int64_t, std::int64_t) {
                              const bool caller = std::this_thread::get_id() == owner;
                              std::this_thread::sleep_for(std::chrono::milliseconds(caller ? 30 : 100));
                            }),
               Interrupted);
  stop_now = false;
}

TEST(Interrupt, AnInnerScopeKeepsTheOuterCall) {
  stop_now = true;
  InterruptScope outer(&poll_flag);
  InterruptScope inner(nullptr);  // e.g. a nested binding call: still interruptible by the outer poll
  EXPECT_THROW(busy(10000), Interrupted);
  stop_now = false;
}

TEST(Interrupt, AScopeWithoutAPollIsNotInterruptible) {
  InterruptScope scope(nullptr);
  EXPECT_NO_THROW(busy(50));
}

TEST(Interrupt, APollThatThrowsStopsTheCall) {
  InterruptScope scope(&poll_throws);
  EXPECT_THROW(busy(10000), Interrupted);
}

TEST(Interrupt, OtherThreadsCallsAreNotStopped) {
  stop_now = true;
  InterruptScope scope(&poll_flag);
  std::thread other([] { EXPECT_NO_THROW(busy(50)); });  // no scope in that thread
  other.join();
  stop_now = false;
}

}  // namespace
}  // namespace affectkit
