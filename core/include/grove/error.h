// grove::Error: every failure in Grove is one of these, with a message that names the problem.
#ifndef GROVE_ERROR_H
#define GROVE_ERROR_H

#include <stdexcept>
#include <string>

namespace grove {

// The kind lets bindings pick the matching error class (JS: TypeError, RangeError, Error).
enum class ErrorCode {
  InvalidArgument,  // a value that can never be right: unknown metric, NaN, wrong length
  OutOfRange,       // an id or count outside what the index holds
  WrongState,       // a call in the wrong order: add after build, query before build
  Io,               // a file could not be opened, read, written or mapped
  BadFormat,        // bytes that are not an index for this dimension and metric
  OutOfMemory,      // an allocation failed; the index is as it was
  Cancelled,        // the caller stopped the call (a build's stop flag); the index is as it was
};

class Error : public std::runtime_error {
 public:
  // sys_errno: the operating system's error number behind an Io error, 0 when there is none
  // (Python raises OSError with it, so a missing file is a FileNotFoundError).
  Error(ErrorCode code, const std::string& message, int sys_errno = 0)
      : std::runtime_error(message), code_(code), sys_errno_(sys_errno) {}
  ErrorCode code() const noexcept { return code_; }
  int sys_errno() const noexcept { return sys_errno_; }

 private:
  ErrorCode code_;
  int sys_errno_;
};

}  // namespace grove

#endif  // GROVE_ERROR_H
