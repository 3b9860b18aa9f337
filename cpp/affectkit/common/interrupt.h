// Cooperative interruption of long calls (Ctrl-C in Python). The core knows
// nothing of signals: the caller installs a poll for its thread, long loops
// call interruption_point(), and the call unwinds with Interrupted.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

namespace affectkit {

// Thrown by interruption_point() when the current call was asked to stop.
class Interrupted : public std::exception {
 public:
  const char* what() const noexcept override { return "interrupted"; }
};

// Returns true when the caller wants the current call to stop. Runs only in
// the thread that installed it (the bindings take the GIL there to run the
// Python signal handlers), at most every kPollInterval.
using InterruptPoll = bool (*)();

namespace detail {

// One interruptible call: its stop flag is shared with the pool workers that
// run chunks of it (parallel_for hands it on), its poll runs in the owner only.
struct CallState {
  InterruptPoll poll;
  std::thread::id owner;
  std::atomic<bool> stop{false};
  std::chrono::steady_clock::time_point next_poll;
};

// The call the current thread works for (nullptr: not interruptible).
CallState* current_call();

// Makes this thread work for `call` while in scope (pool workers use it).
class WorkingFor {
 public:
  explicit WorkingFor(CallState* call);
  ~WorkingFor();
  WorkingFor(const WorkingFor&) = delete;
  WorkingFor& operator=(const WorkingFor&) = delete;

 private:
  CallState* previous_;
};

// Polls if this thread owns `call` and the interval has passed; true once the
// call should stop. Never throws (the pool calls it while waiting).
bool stop_requested(CallState* call);

}  // namespace detail

// Makes the calls this thread makes while in scope interruptible by `poll`.
// A scope inside another scope keeps the outer one.
class InterruptScope {
 public:
  explicit InterruptScope(InterruptPoll poll);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  detail::CallState call_;
  bool installed_;
};

// How often the owner thread runs the poll: Ctrl-C is answered within about this.
constexpr std::chrono::milliseconds kPollInterval{20};

// Throws Interrupted once the current call should stop; otherwise returns at
// the cost of an atomic load (and a clock read in the owner thread). Call it
// once per frame or block in long loops, not per sample.
inline void interruption_point() {
  detail::CallState* call = detail::current_call();
  if (call != nullptr && detail::stop_requested(call)) throw Interrupted();
}

}  // namespace affectkit
