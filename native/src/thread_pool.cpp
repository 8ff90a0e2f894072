// A small thread pool for ParallelFor, alive for one build or batch: the caller takes part,
// work is handed out in chunks through an atomic counter, and run() returns when every
// chunk is done.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "platform.h"

namespace grove {
namespace native {
namespace {

class ThreadPool : public ParallelFor {
 public:
  // Starts up to threads - 1 workers. When the system refuses a thread (a pids or memory
  // limit that hardware_concurrency() does not see), the pool carries on with half of those
  // it got: at such a limit the work itself still needs room (memory) to run.
  ThreadPool(int threads, const std::function<void()>& before_spawn) {
    try {
      for (int i = 1; i < threads; ++i) {
        if (before_spawn) before_spawn();
        workers_.emplace_back([this] { work(); });
      }
    } catch (const std::exception&) {
      // std::system_error from std::thread, or the test hook: fewer workers, same results.
      const std::size_t keep = workers_.size() / 2;
      stop();
      workers_.clear();
      stop_ = false;
      try {
        while (workers_.size() < keep) workers_.emplace_back([this] { work(); });
      } catch (const std::exception&) {
      }
    }
  }
  ~ThreadPool() override { stop(); }

  int workers() const override { return static_cast<int>(workers_.size()) + 1; }

  void run(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) override {
    if (n == 0) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      n_ = n;
      chunk_ = std::max<std::size_t>(1, n / (4 * static_cast<std::size_t>(workers())));
      next_.store(0);
      busy_ = workers_.size();
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    take_chunks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      take_chunks();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void take_chunks() {
    for (;;) {
      std::size_t begin = next_.fetch_add(chunk_);
      if (begin >= n_) return;
      try {
        (*job_)(begin, std::min(n_, begin + chunk_));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t, std::size_t)>* job_ = nullptr;
  std::size_t n_ = 0, chunk_ = 1, busy_ = 0;
  std::atomic<std::size_t> next_{0};
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace

std::unique_ptr<ParallelFor> make_thread_pool(int threads, const std::function<void()>& before_spawn) {
  if (threads == -1) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, kMaxThreads);
  if (threads <= 1) return nullptr;
  std::unique_ptr<ThreadPool> pool(new ThreadPool(threads, before_spawn));
  if (pool->workers() <= 1) return nullptr;
  return std::unique_ptr<ParallelFor>(pool.release());
}

}  // namespace native
}  // namespace grove
