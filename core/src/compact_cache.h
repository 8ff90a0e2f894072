// CompactCache: an index's compact copy (compact.h) and the one lock that guards it. The copy
// is made, or an adopted companion verified, once, by whichever query needs it first; queries
// are const and may run on many threads, so that step takes the cache's mutex and publishes
// the result through an atomic pointer that later queries read without locking. State
// changes (drop, install, offer) come only from calls holding the index's exclusive lock, so
// no query runs meanwhile.
#ifndef GROVE_CORE_COMPACT_CACHE_H
#define GROVE_CORE_COMPACT_CACHE_H

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "compact.h"

namespace grove {
namespace detail {

class CompactCache {
 public:
  using Log = std::function<void(const std::string&)>;

  // The copy for `forest`, made or verified now if it is not yet; null if it cannot be made
  // (out of memory: ranking exactly is slower, never wrong). `log` hears why an adopted
  // companion was ignored. Safe from many queries at once.
  const Compact* get(const Forest& forest, const Log& log) const {
    if (const Compact* ready = ready_.load(std::memory_order_acquire)) return ready;
    std::lock_guard<std::mutex> guard(mutex_);
    return ensure(forest, log);
  }
  // The copy, when it is in use (made here or verified), to change in place: the caller holds
  // the index's exclusive lock, so no query reads it meanwhile.
  Compact* in_use() { return checked_ ? compact_.get() : nullptr; }
  // Forgets the copy (the index changed).
  void drop() {
    ready_.store(nullptr);
    compact_.reset();
    checked_ = failed_ = false;
  }
  // A copy known good (made by the build from these very items and trees).
  void install(std::unique_ptr<Compact> made) {
    drop();
    compact_ = std::move(made);
    checked_ = compact_ != nullptr;
    if (checked_) ready_.store(compact_.get(), std::memory_order_release);
  }
  // An adopted companion: used only once get() has verified it against the index.
  void offer(std::unique_ptr<Compact> adopted) {
    drop();
    compact_ = std::move(adopted);
  }
  // Hands the copy over (to keep it across a re-adoption of the same index bytes), with
  // whether it was known good; restore() takes it back.
  std::unique_ptr<Compact> take(bool* checked) {
    *checked = checked_;
    std::unique_ptr<Compact> out = std::move(compact_);
    drop();
    return out;
  }
  void restore(std::unique_ptr<Compact> compact, bool checked) {
    if (checked) install(std::move(compact));
    else offer(std::move(compact));
  }

 private:
  // Under mutex_, or from a state change (no query overlaps one).
  const Compact* ensure(const Forest& forest, const Log& log) const {
    if (checked_ || failed_) return failed_ ? nullptr : compact_.get();
    std::string why;
    if (compact_ && !compact_->verify(forest, &why)) {
      if (log) log("compact companion ignored: " + why + "; making it again");
      compact_.reset();
    }
    if (!compact_) {
      try {
        compact_ = Compact::encode(forest);
      } catch (const Error&) {
        failed_ = true;
        return nullptr;
      } catch (const std::bad_alloc&) {
        failed_ = true;
        return nullptr;
      }
    }
    checked_ = true;
    ready_.store(compact_.get(), std::memory_order_release);
    return compact_.get();
  }

  mutable std::mutex mutex_;
  mutable std::unique_ptr<Compact> compact_;
  mutable bool checked_ = false;  // built here, or verified after adopting
  mutable bool failed_ = false;   // could not be made (memory)
  mutable std::atomic<const Compact*> ready_{nullptr};
};

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_COMPACT_CACHE_H
