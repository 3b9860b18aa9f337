#include "affectkit/common/thread_pool.h"

#include "affectkit/common/interrupt.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace affectkit {
namespace {

// One parallel_for call: chunks are claimed through an atomic counter by the
// caller and by any pool worker that picked up one of the job's tickets.
struct Job {
  const std::function<void(std::int64_t, std::int64_t)>* body;
  std::int64_t count;
  std::int64_t chunk;
  std::int64_t num_chunks;
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> finished{0};
  std::mutex mutex;
  std::condition_variable all_done;
  std::exception_ptr error;
  detail::CallState* call;  // the caller's interruptible call, handed on to the workers

  // Runs chunks until none is left; returns when this thread can take no more.
  void work() {
    const detail::WorkingFor working_for(call);
    for (;;) {
      const std::int64_t index = next.fetch_add(1);
      if (index >= num_chunks) return;
      const std::int64_t begin = index * chunk;
      const std::int64_t end = std::min(count, begin + chunk);
      bool failed;
      {
        std::lock_guard<std::mutex> lock(mutex);
        failed = static_cast<bool>(error);
      }
      if (!failed) {
        try {
          interruption_point();
          (*body)(begin, end);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!error) error = std::current_exception();
        }
      }
      if (finished.fetch_add(1) + 1 == num_chunks) {
        std::lock_guard<std::mutex> lock(mutex);
        all_done.notify_all();
      }
    }
  }
};

class ThreadPool {
 public:
  explicit ThreadPool(int size) {
    for (int i = 0; i < size; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  int size() const { return static_cast<int>(workers_.size()); }

  void submit(const std::shared_ptr<Job>& job, int tickets) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (int i = 0; i < tickets; ++i) queue_.push_back(job);
    }
    if (tickets == 1) {
      wake_.notify_one();
    } else {
      wake_.notify_all();
    }
  }

 private:
  void loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_ && queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job->work();
    }
  }

  std::vector<std::thread> workers_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

ThreadPool& pool() {
  // Created on first use and never destroyed: joining threads during static
  // destruction (or after fork) is a classic source of hangs at exit.
  static ThreadPool* instance = new ThreadPool(std::max(0, hardware_threads() - 1));
  return *instance;
}

std::atomic<ParallelForBackend> backend{nullptr};

}  // namespace

void set_parallel_for_backend(ParallelForBackend fn) { backend.store(fn); }

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void parallel_for(std::int64_t count, int num_threads,
                  const std::function<void(std::int64_t, std::int64_t)>& body) {
  if (count <= 0) return;
  if (ParallelForBackend fn = backend.load()) {
    fn(count, num_threads, body);
    return;
  }
  const int threads = static_cast<int>(
      std::min<std::int64_t>(num_threads <= 0 ? hardware_threads() : num_threads, count));
  if (threads <= 1) {
    body(0, count);
    return;
  }
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->call = detail::current_call();
  job->count = count;
  // A few chunks per thread balances uneven work without much overhead.
  job->num_chunks = std::min<std::int64_t>(count, 4 * static_cast<std::int64_t>(threads));
  job->chunk = (count + job->num_chunks - 1) / job->num_chunks;
  job->num_chunks = (count + job->chunk - 1) / job->chunk;
  pool().submit(job, std::min(threads - 1, pool().size()));
  job->work();
  {
    // While the workers finish, the caller keeps polling, so a long last chunk
    // still hears an interruption (the chunk sees the stop flag and unwinds).
    const auto done = [&] { return job->finished.load() == job->num_chunks; };
    std::unique_lock<std::mutex> lock(job->mutex);
    while (!job->all_done.wait_for(lock, kPollInterval, done)) {
      if (job->call != nullptr) {
        lock.unlock();
        detail::stop_requested(job->call);
        lock.lock();
      }
    }
  }
  if (job->error) std::rethrow_exception(job->error);
  // A stop heard while waiting ends the call even when every chunk had passed its last
  // interruption point: the poll has consumed the signal, which would otherwise be lost.
  if (job->call != nullptr && job->call->stop.load(std::memory_order_relaxed)) throw Interrupted();
}

}  // namespace affectkit
