#include "affectkit/common/interrupt.h"

namespace affectkit {
namespace detail {
namespace {
thread_local CallState* working_for = nullptr;
}  // namespace

CallState* current_call() { return working_for; }

WorkingFor::WorkingFor(CallState* call) : previous_(working_for) { working_for = call; }
WorkingFor::~WorkingFor() { working_for = previous_; }

bool stop_requested(CallState* call) {
  if (call->stop.load(std::memory_order_relaxed)) return true;
  if (call->owner != std::this_thread::get_id()) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now < call->next_poll) return false;
  call->next_poll = now + kPollInterval;
  bool stop = false;
  try {
    stop = call->poll();
  } catch (...) {
    stop = true;  // a poll that fails cannot let the call go on unchecked
  }
  if (stop) call->stop.store(true, std::memory_order_relaxed);
  return stop;
}

}  // namespace detail

InterruptScope::InterruptScope(InterruptPoll poll) : installed_(detail::working_for == nullptr && poll) {
  call_.poll = poll;
  call_.owner = std::this_thread::get_id();
  call_.next_poll = std::chrono::steady_clock::now() + kPollInterval;
  if (installed_) detail::working_for = &call_;
}

InterruptScope::~InterruptScope() {
  if (installed_) detail::working_for = nullptr;
}

}  // namespace affectkit
