// A small persistent thread pool for ParallelFor: the caller takes part, work is handed out
// in chunks through an atomic counter, and run() returns when every chunk is done.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "platform.h"

namespace grove {
namespace native {
namespace {

class ThreadPool : public ParallelFor {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

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

std::unique_ptr<ParallelFor> make_thread_pool(int threads) {
  if (threads == -1) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 1) return nullptr;
  return std::unique_ptr<ParallelFor>(new ThreadPool(threads));
}

}  // namespace native
}  // namespace grove
