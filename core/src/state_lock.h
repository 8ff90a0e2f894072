// StateLock: the lock an index's queries hold shared and its state changes hold exclusively.
//
// Writer-preferring: once a state change waits, new queries wait behind it. A reader-
// preferring lock (glibc's std::shared_mutex) lets a steady stream of queries on a few
// threads keep unload() or load() waiting indefinitely.
#ifndef GROVE_CORE_STATE_LOCK_H
#define GROVE_CORE_STATE_LOCK_H

#include <condition_variable>
#include <mutex>

namespace grove {
namespace detail {

class StateLock {
 public:
  void lock_shared() {
    std::unique_lock<std::mutex> guard(mutex_);
    changed_.wait(guard, [this] { return writers_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    std::lock_guard<std::mutex> guard(mutex_);
    if (--readers_ == 0 && writers_ > 0) changed_.notify_all();
  }
  void lock() {
    std::unique_lock<std::mutex> guard(mutex_);
    ++writers_;  // waiting or writing: from here on new readers wait
    changed_.wait(guard, [this] { return readers_ == 0 && !writing_; });
    writing_ = true;
  }
  void unlock() {
    std::lock_guard<std::mutex> guard(mutex_);
    writing_ = false;
    --writers_;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int readers_ = 0;  // holding it shared
  int writers_ = 0;  // holding it exclusively or waiting to
  bool writing_ = false;
};

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_STATE_LOCK_H
