// The core's thread pool: a fixed set of std::threads shared by every call.
// No OpenMP (a second OpenMP runtime next to torch's crashes processes).
#pragma once

#include <cstdint>
#include <functional>

namespace affectkit {

// Number of threads used when a caller asks for "all" (num_threads <= 0).
int hardware_threads();

// Calls body(begin, end) on disjoint chunks covering [0, count), using up to
// num_threads threads (<= 0 means hardware_threads()). The calling thread
// works too, so nested or concurrent calls from many threads cannot deadlock.
// The first exception thrown by a chunk is rethrown in the caller once every
// started chunk has finished.
void parallel_for(std::int64_t count, int num_threads,
                  const std::function<void(std::int64_t begin, std::int64_t end)>& body);

// Routes this copy of the core's parallel_for to another scheduler (nullptr
// restores the pool). The torch op library links its own copy of the core and
// installs at::parallel_for, so ops share torch's threads and honour
// torch.set_num_threads instead of adding a second pool next to torch's.
using ParallelForBackend = void (*)(std::int64_t count, int num_threads,
                                    const std::function<void(std::int64_t, std::int64_t)>& body);
void set_parallel_for_backend(ParallelForBackend backend);

}  // namespace affectkit
