#include "datasets.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "grove/error.h"

namespace grove {
namespace tools {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::BadFormat, what); }

// Caps what a header may claim, so a corrupt size cannot ask for absurd memory.
void check_shape(std::size_t rows, std::size_t cols, std::size_t available_values) {
  if (cols == 0) bad("vectors have 0 dimensions");
  if (rows > available_values / cols) bad("header claims more values than the file holds");
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Finds `'key':` in a .npy header dict and returns what follows it.
std::string npy_field(const std::string& header, const std::string& key) {
  std::size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) bad(".npy header has no '" + key + "'");
  std::size_t colon = header.find(':', at);
  if (colon == std::string::npos) bad(".npy header is malformed");
  std::size_t start = header.find_first_not_of(" ", colon + 1);
  if (start == std::string::npos) bad(".npy header is malformed");
  return header.substr(start);
}

std::vector<std::size_t> npy_shape(const std::string& header) {
  std::string rest = npy_field(header, "shape");
  if (rest.empty() || rest[0] != '(') bad(".npy shape is not a tuple");
  std::size_t close = rest.find(')');
  if (close == std::string::npos) bad(".npy shape is not closed");
  std::vector<std::size_t> dims;
  std::string inner = rest.substr(1, close - 1);
  std::stringstream ss(inner);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::size_t first = part.find_first_not_of(" ");
    if (first == std::string::npos) continue;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(part.c_str() + first, &end, 10);
    if (errno != 0 || end == part.c_str() + first) bad(".npy shape has a bad number");
    dims.push_back(static_cast<std::size_t>(v));
  }
  return dims;
}

template <class T>
void copy_values(const std::uint8_t* src, std::size_t count, std::vector<float>& out) {
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}

}  // namespace

Matrix parse_npy(const std::uint8_t* data, std::size_t size) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) bad("not a .npy file (bad magic)");
  const int major = data[6];
  std::size_t header_len, offset;
  if (major == 1) {
    header_len = data[8] | (std::size_t(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) bad(".npy file is truncated");
    header_len = data[8] | (std::size_t(data[9]) << 8) | (std::size_t(data[10]) << 16) |
                 (std::size_t(data[11]) << 24);
    offset = 12;
  } else {
    bad(".npy version " + std::to_string(major) + " is not supported");
  }
  if (header_len > size - offset) bad(".npy header is truncated");
  const std::string header(reinterpret_cast<const char*>(data + offset), header_len);
  const std::string descr = npy_field(header, "descr");
  if (npy_field(header, "fortran_order").compare(0, 4, "True") == 0)
    bad(".npy array is in Fortran order; save it in C order");
  std::vector<std::size_t> shape = npy_shape(header);
  if (shape.size() != 2) bad(".npy array must be 2-D (rows x dimensions)");
  std::size_t item;
  if (descr.compare(0, 5, "'<f4'") == 0) item = 4;
  else if (descr.compare(0, 5, "'<f8'") == 0) item = 8;
  else if (descr.compare(0, 5, "'|u1'") == 0) item = 1;
  else bad(".npy dtype must be float32, float64 or uint8");
  const std::uint8_t* body = data + offset + header_len;
  const std::size_t body_size = size - offset - header_len;
  check_shape(shape[0], shape[1], body_size / item);
  Matrix m;
  m.rows = shape[0];
  m.cols = shape[1];
  const std::size_t count = m.rows * m.cols;
  if (item == 4) copy_values<float>(body, count, m.values);
  else if (item == 8) copy_values<double>(body, count, m.values);
  else copy_values<std::uint8_t>(body, count, m.values);
  return m;
}

Matrix parse_fvecs(const std::uint8_t* data, std::size_t size) {
  Matrix m;
  std::size_t at = 0;
  while (at < size) {
    if (size - at < 4) bad(".fvecs row " + std::to_string(m.rows) + " is truncated");
    std::int32_t dim;
    std::memcpy(&dim, data + at, 4);
    at += 4;
    if (dim <= 0) bad(".fvecs row " + std::to_string(m.rows) + " has dimension " + std::to_string(dim));
    if (m.rows == 0) m.cols = static_cast<std::size_t>(dim);
    if (static_cast<std::size_t>(dim) != m.cols)
      bad(".fvecs row " + std::to_string(m.rows) + " has dimension " + std::to_string(dim) +
          ", the first had " + std::to_string(m.cols));
    if ((size - at) / 4 < m.cols) bad(".fvecs row " + std::to_string(m.rows) + " is truncated");
    const std::size_t old = m.values.size();
    m.values.resize(old + m.cols);
    std::memcpy(m.values.data() + old, data + at, m.cols * 4);
    at += m.cols * 4;
    ++m.rows;
  }
  if (m.rows == 0) bad(".fvecs file is empty");
  return m;
}

Matrix parse_text(const std::uint8_t* data, std::size_t size) {
  Matrix m;
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  std::size_t line_no = 0;
  std::string line;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    line.assign(p, line_end);
    p = nl ? nl + 1 : end;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t,") == std::string::npos) continue;  // blank
    std::vector<float> row;
    const char* s = line.c_str();
    while (*s) {
      while (*s == ' ' || *s == '\t' || *s == ',') ++s;
      if (!*s) break;
      char* num_end = nullptr;
      float v = std::strtof(s, &num_end);
      if (num_end == s) {
        if (m.rows == 0 && row.empty()) break;  // a header line: skip it
        bad("line " + std::to_string(line_no) + " has a value that is not a number");
      }
      if (!std::isfinite(v)) bad("line " + std::to_string(line_no) + " has a non-finite value");
      row.push_back(v);
      s = num_end;
      if (*s && *s != ' ' && *s != '\t' && *s != ',')
        bad("line " + std::to_string(line_no) + " has a value that is not a number");
    }
    if (row.empty()) continue;
    if (m.rows == 0) m.cols = row.size();
    if (row.size() != m.cols)
      bad("line " + std::to_string(line_no) + " has " + std::to_string(row.size()) +
          " values, the first row had " + std::to_string(m.cols));
    m.values.insert(m.values.end(), row.begin(), row.end());
    ++m.rows;
  }
  if (m.rows == 0) bad("no vectors found in the text file");
  return m;
}

Matrix read_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
  // One read of the whole file (not a byte at a time through stream iterators).
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(ErrorCode::Io, "cannot read '" + path + "'");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw Error(ErrorCode::Io, "cannot read '" + path + "': " + std::strerror(errno));
  if (ends_with(path, ".npy")) return parse_npy(bytes.data(), bytes.size());
  if (ends_with(path, ".fvecs")) return parse_fvecs(bytes.data(), bytes.size());
  return parse_text(bytes.data(), bytes.size());
}

void write_npy(const std::string& path, const Matrix& m) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(m.rows) + ", " + std::to_string(m.cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(ErrorCode::Io, "cannot create '" + path + "': " + std::strerror(errno));
  const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(header.size() & 0xff),
                                      static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(preamble), 10);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(m.values.data()),
            static_cast<std::streamsize>(m.values.size() * sizeof(float)));
  if (!out) throw Error(ErrorCode::Io, "cannot write '" + path + "'");
}

}  // namespace tools
}  // namespace grove
