// Reading vectors for the CLI: NumPy .npy (float32/float64/uint8, 2-D, C order),
// .fvecs (int32 dimension + float32 values per row), and CSV/TSV text.
#ifndef GROVE_TOOLS_DATASETS_H
#define GROVE_TOOLS_DATASETS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace grove {
namespace tools {

struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;  // rows * cols, row-major
  const float* row(std::size_t r) const { return values.data() + r * cols; }
};

// Each parser throws grove::Error (BadFormat) naming what is wrong with the bytes.
Matrix parse_npy(const std::uint8_t* data, std::size_t size);
Matrix parse_fvecs(const std::uint8_t* data, std::size_t size);
Matrix parse_text(const std::uint8_t* data, std::size_t size);  // CSV, TSV or spaces

// Picks the parser from the file name (.npy, .fvecs, else text) and reads the file.
Matrix read_matrix(const std::string& path);

// Writes a float32 2-D .npy file.
void write_npy(const std::string& path, const Matrix& m);

}  // namespace tools
}  // namespace grove

#endif  // GROVE_TOOLS_DATASETS_H
