// libFuzzer target: the CLI's input parsers (.npy, .fvecs, CSV/TSV) on arbitrary bytes.
#include <cstdint>

#include "datasets.h"
#include "grove/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 3;
  try {
    grove::tools::Matrix m;
    if (which == 0) m = grove::tools::parse_npy(data + 1, size - 1);
    else if (which == 1) m = grove::tools::parse_fvecs(data + 1, size - 1);
    else m = grove::tools::parse_text(data + 1, size - 1);
    if (m.values.size() != m.rows * m.cols) __builtin_trap();
  } catch (const grove::Error&) {
  }
  return 0;
}
